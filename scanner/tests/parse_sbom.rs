//! SBOM parsers over the real SPDX and CycloneDX documents in
//! tests/data/sbom (copied from shared/fixtures), plus generated ones for
//! cycles, nesting and size.

#[path = "parse_support.rs"]
mod support;

use steward_scanner::parse;
use steward_scanner::{Ecosystem, LockfileFormat};
use support::*;

#[test]
fn cyclonedx_1_4_laravel() {
    let f = "sbom/cyclonedx-1.4-laravel-7.12.0.bom.json";
    let g = parse::cyclonedx::parse(f, &read(f)).unwrap();
    assert_eq!(g.source.format, LockfileFormat::CyclonedxJson);
    // 62 components and metadata.component; 113 dependency edges.
    assert_eq!(g.packages.len(), 63);
    assert_eq!(edge_count(&g), 113);
    let root = find(&g, "cyclonedx/cyclonedx-php-composer-demo", "dev-master");
    assert_eq!(g.roots, vec![root]);
    let cors = find(&g, "asm89/stack-cors", "1.3.0");
    let p = &g.packages[cors];
    assert_eq!(p.purl.as_deref(), Some("pkg:composer/asm89/stack-cors@1.3.0"));
    assert_eq!(p.ecosystem, Ecosystem::Other);
    assert_eq!(p.raw_licenses.len(), 1);
    assert_eq!(p.raw_licenses[0].value, "MIT");
    assert_eq!(p.raw_licenses[0].field, "components[0].licenses[0].license.id");
    assert_eq!(
        p.source.as_deref(),
        Some("https://api.github.com/repos/asm89/stack-cors/zipball/b9c31def6a83f84b4d4a40d35996d375755f0e08")
    );
    assert_eq!(deps_of(&g, cors), vec!["symfony/http-foundation@v5.4.16", "symfony/http-kernel@v5.4.16"]);
    assert_eq!(g.packages.iter().filter(|p| !p.raw_licenses.is_empty()).count(), 62);
    insta::assert_snapshot!(summary(&g));
}

#[test]
fn cyclonedx_1_5_npm_expression() {
    let f = "sbom/cyclonedx-1.5-npm-demo-bundled-deps.bom.json";
    let g = parse::cyclonedx::parse(f, &read(f)).unwrap();
    assert_eq!(g.packages.len(), 53);
    assert_eq!(edge_count(&g), 65);
    let expr: Vec<_> =
        g.packages.iter().flat_map(|p| &p.raw_licenses).filter(|l| l.field.ends_with(".expression")).collect();
    assert_eq!(expr.len(), 1);
    assert_eq!(expr[0].value, "(MIT AND CC-BY-3.0)");
    let ansi = find(&g, "ansi-regex", "2.0.0");
    assert_eq!(g.packages[ansi].ecosystem, Ecosystem::Npm);
    insta::assert_snapshot!(summary(&g));
}

#[test]
fn cyclonedx_1_6_git_deps_and_duplicates() {
    let f = "sbom/cyclonedx-1.6-npm-demo-deps-from-git.bom.json";
    let g = parse::cyclonedx::parse(f, &read(f)).unwrap();
    // 99 components + the root, but minipass@3.3.6 is listed twice (two
    // install paths, same purl): one package, so 99 nodes; its two
    // `dependsOn` lists collapse one duplicate edge (152 → 151).
    assert_eq!(g.packages.len(), 99);
    assert_eq!(edge_count(&g), 151);
    find(&g, "minipass", "3.3.6");
    let lib = find(&g, "@cyclonedx/cyclonedx-library", "6.1.0");
    let p = &g.packages[lib];
    assert!(p.purl.as_deref().unwrap().starts_with("pkg:npm/%40cyclonedx/cyclonedx-library@6.1.0?download_url="));
    assert_eq!(
        p.source.as_deref(),
        Some(
            "git+ssh://git@github.com/CycloneDX/cyclonedx-javascript-library.git#e1a99f9871ca1cbd9b7f7b097c0e2aa8f1e79fe7"
        )
    );
    insta::assert_snapshot!(summary(&g));
}

#[test]
fn spdx_2_2_appbomination() {
    let f = "sbom/spdx-2.2-example9-appbomination.spdx.json";
    let g = parse::spdx::parse(f, &read(f)).unwrap();
    assert_eq!(g.source.format, LockfileFormat::SpdxJson);
    assert_eq!(g.packages.len(), 7);
    let app = find(&g, "App-BOM-ination", "1.0");
    assert_eq!(g.roots, vec![app]);
    let app_p = &g.packages[app];
    assert_eq!(app_p.raw_licenses[0].value, "(LicenseRef-1 AND Apache-2.0)");
    assert_eq!(app_p.raw_licenses[0].field, "packages[1].licenseConcluded");
    assert_eq!(app_p.raw_licenses[1].value, "Apache-2.0");
    assert_eq!(app_p.raw_licenses[1].field, "packages[1].licenseDeclared");
    assert_eq!(deps_of(&g, app), vec!["commons-lang3@3.4", "junit@4.12", "slf4j-api@1.7.21"]);
    let junit = find(&g, "junit", "4.12");
    let hamcrest = find(&g, "hamcrest-core", "1.3");
    assert!(has_edge(&g, junit, hamcrest), "hamcrest DEPENDENCY_OF junit");
    // junit is a TEST_DEPENDENCY_OF the app; hamcrest is reached only through it.
    assert!(g.packages[junit].dev && g.packages[hamcrest].dev);
    assert!(!g.packages[find(&g, "commons-lang3", "3.4")].dev);
    // NOASSERTION is kept raw.
    assert!(g.packages[hamcrest].raw_licenses.iter().any(|l| l.value == "NOASSERTION"));
    assert_eq!(g.packages[hamcrest].purl.as_deref(), Some("pkg:maven/org.hamcrest/hamcrest-core@1.3"));
    insta::assert_snapshot!(summary(&g));
}

#[test]
fn spdx_2_3_rust_and_maven() {
    let f = "sbom/spdx-2.3-example11-rust-hello-server.spdx.json";
    let g = parse::spdx::parse(f, &read(f)).unwrap();
    let root = find(&g, "hello-server-src", "0.1.0");
    assert_eq!(g.roots, vec![root], "documentDescribes also names a file, which is not a package");
    assert_eq!(deps_of(&g, root), vec!["hyper@0.14", "pretty_env_logger@0.4.0", "tokio@1.19.2"]);
    let tokio = find(&g, "tokio", "1.19.2");
    assert_eq!(g.packages[tokio].ecosystem, Ecosystem::Cargo);
    let pel = find(&g, "pretty_env_logger", "0.4.0");
    assert_eq!(g.packages[pel].raw_licenses[0].value, "MIT OR Apache-2.0");
    assert_eq!(g.packages[pel].source, None, "downloadLocation NONE");

    let f = "sbom/spdx-2.3-example14-examplemaven-enriched.spdx.json";
    let g = parse::spdx::parse(f, &read(f)).unwrap();
    assert_eq!(g.packages.len(), 6);
    let ex = find(&g, "examplemaven", "0.0.1");
    assert_eq!(g.roots, vec![ex]);
    // 4 DYNAMIC_LINK + 1 TEST_DEPENDENCY_OF between packages.
    assert_eq!(g.edges[ex].len(), 5);
    assert!(g.packages[find(&g, "JUnit", "3.8.1")].dev);
    insta::assert_snapshot!(summary(&g));
}

#[test]
fn spdx_cycles_do_not_hang_and_roots_fall_back() {
    let doc = br#"{"spdxVersion": "SPDX-2.3", "SPDXID": "SPDXRef-DOCUMENT",
      "packages": [
        {"SPDXID": "SPDXRef-a", "name": "a", "versionInfo": "1", "downloadLocation": "NOASSERTION"},
        {"SPDXID": "SPDXRef-b", "name": "b", "versionInfo": "1", "downloadLocation": "NOASSERTION"},
        {"SPDXID": "SPDXRef-c", "name": "c", "versionInfo": "1", "downloadLocation": "NOASSERTION"}
      ],
      "relationships": [
        {"spdxElementId": "SPDXRef-a", "relationshipType": "DEPENDS_ON", "relatedSpdxElement": "SPDXRef-b"},
        {"spdxElementId": "SPDXRef-b", "relationshipType": "DEPENDS_ON", "relatedSpdxElement": "SPDXRef-c"},
        {"spdxElementId": "SPDXRef-a", "relationshipType": "DEPENDENCY_OF", "relatedSpdxElement": "SPDXRef-c"},
        {"spdxElementId": "SPDXRef-c", "relationshipType": "CONTAINED_BY", "relatedSpdxElement": "SPDXRef-b"}
      ]}"#;
    let g = parse::spdx::parse("x.spdx.json", doc).unwrap();
    let (a, b, c) = (find(&g, "a", "1"), find(&g, "b", "1"), find(&g, "c", "1"));
    assert!(has_edge(&g, a, b) && has_edge(&g, b, c) && has_edge(&g, c, a));
    // A pure cycle: nothing is without a parent, so no root is invented.
    assert!(g.roots.is_empty());
    check_invariants(&g);
}

#[test]
fn cyclonedx_nested_components_cycles_and_no_metadata() {
    let bom = br#"{"bomFormat": "CycloneDX", "specVersion": "1.5",
      "components": [
        {"bom-ref": "a", "type": "library", "name": "a", "version": "1", "purl": "pkg:pypi/a@1",
         "licenses": [{"license": {"name": "Custom License"}}],
         "components": [
           {"bom-ref": "a/inner", "type": "library", "name": "inner", "version": "2", "group": "org.x",
            "purl": "pkg:maven/org.x/inner@2",
            "components": [{"bom-ref": "deep", "name": "deep", "version": "3"}]}
         ]},
        {"bom-ref": "b", "name": "b", "version": "1", "properties": [{"name": "cdx:npm:package:development", "value": "true"}]}
      ],
      "dependencies": [
        {"ref": "a", "dependsOn": ["a/inner", "unknown-ref"]},
        {"ref": "a/inner", "dependsOn": ["deep"]},
        {"ref": "deep", "dependsOn": ["a"]}
      ]}"#;
    let g = parse::cyclonedx::parse("bom.json", bom).unwrap();
    assert_eq!(g.packages.len(), 4);
    let a = find(&g, "a", "1");
    let inner = find(&g, "org.x:inner", "2");
    let deep = find(&g, "deep", "3");
    assert!(has_edge(&g, a, inner) && has_edge(&g, inner, deep) && has_edge(&g, deep, a));
    assert_eq!(g.packages[a].ecosystem, Ecosystem::Pypi);
    assert_eq!(g.packages[a].raw_licenses[0].value, "Custom License");
    assert_eq!(g.packages[a].raw_licenses[0].field, "components[0].licenses[0].license.name");
    assert_eq!(g.packages[deep].ecosystem, Ecosystem::Other);
    // Without metadata.component the roots are the components nothing depends on.
    let b = find(&g, "b", "1");
    assert_eq!(g.roots, vec![b]);
    assert!(g.packages[b].dev);
}

/// A generated 50,000-component CycloneDX document parses; (peak memory is
/// measured separately: typed borrowed structs keep it near the input size).
#[test]
fn cyclonedx_50k_components() {
    let n = 50_000;
    let mut s = String::from(
        r#"{"bomFormat":"CycloneDX","specVersion":"1.6","metadata":{"component":{"bom-ref":"root","name":"root","version":"1"}},"components":["#,
    );
    for i in 0..n {
        if i > 0 {
            s.push(',');
        }
        s.push_str(&format!(
            r#"{{"bom-ref":"c{i}","type":"library","name":"pkg-{i}","version":"1.{i}.0","purl":"pkg:npm/pkg-{i}@1.{i}.0","licenses":[{{"license":{{"id":"MIT"}}}}]}}"#
        ));
    }
    s.push_str(r#"],"dependencies":[{"ref":"root","dependsOn":["c0","c1"]}"#);
    for i in 0..n - 1 {
        s.push_str(&format!(r#",{{"ref":"c{i}","dependsOn":["c{}"]}}"#, i + 1));
    }
    s.push_str("]}");
    let g = parse::cyclonedx::parse("big.cdx.json", s.as_bytes()).unwrap();
    assert_eq!(g.packages.len(), n + 1);
    assert_eq!(edge_count(&g), 2 + n - 1);
}
