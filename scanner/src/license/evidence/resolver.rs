//! The [`Resolver`]: the order in which sources decide a package's license
//! (clarification, the input's own data, local manifests and texts, the
//! registry when online), and the caches shared by the packages of a scan.

use super::cargo_cache::{self, CacheLookup, CargoCache, is_registry_crate};
use super::cargo_tree::{self, CargoTree};
use super::config::{SharedSource, ValidLicenseConfig};
use super::go_cache::GoCache;
use super::go_proxy::{self, GoAnswer, GoKey};
use super::node_modules::{self, NodeModules};
use super::python_site::{self, SitePackages};
use super::reading::{
    Readings, field_text_disagreement, is_license_path, join, license_files_on_disk, parsed_confidence, see_license_in,
    texts_on_disk,
};
use super::registry_lookup::{self, Answer, RegistryKey, RegistryPlan};
use super::tree_files::TreeFiles;
use super::values::{Evidence, EvidenceSource, ResolvedLicense};
use crate::license::expr::{LicenseExpr, LicenseValue, ParsedLicense};
use crate::license::registry::RegistryError;
use crate::model::{DependencyGraph, Ecosystem, Package};
use crate::source::InputTree;
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;

/// Resolves the licenses of many packages, caching what is shared between
/// them (parsed strings, cache directory listings, detected texts).
pub struct Resolver<'a> {
    config: &'a ValidLicenseConfig,
    readings: Readings,
    files: TreeFiles,
    cargo_tree: CargoTree,
    node_modules: NodeModules,
    cargo_cache: CargoCache,
    go_cache: GoCache,
    site_packages: SitePackages,
    /// The registry-cache look-up already done (on a worker thread) for the
    /// package being resolved.
    cargo_lookup: Option<CacheLookup>,
    /// Registry answers so far, by (ecosystem, name, version).
    registry_answers: HashMap<RegistryKey, Answer>,
    /// While [`Resolver::resolve_graph`] runs, registry look-ups wait and
    /// are then done together on several threads; `deferred` tells that the
    /// package just resolved waits for one.
    defer_registry: bool,
    deferred: bool,
    /// Packages whose registry look-up failed.
    registry_failures: usize,
    /// Module proxy answers so far, by (module, version).
    go_answers: HashMap<GoKey, GoAnswer>,
    /// The `h1:` lines of each directory's `go.sum`, read once.
    go_sums: HashMap<String, BTreeMap<(String, String), String>>,
}

impl<'a> Resolver<'a> {
    pub fn new(config: &'a ValidLicenseConfig) -> Self {
        Self {
            config,
            readings: Readings::default(),
            files: TreeFiles::new(None),
            cargo_tree: CargoTree::default(),
            node_modules: NodeModules::default(),
            cargo_cache: CargoCache::default(),
            go_cache: GoCache::default(),
            site_packages: SitePackages::default(),
            cargo_lookup: None,
            registry_answers: HashMap::new(),
            defer_registry: false,
            deferred: false,
            registry_failures: 0,
            go_answers: HashMap::new(),
            go_sums: HashMap::new(),
        }
    }

    /// Packages whose registry look-up failed so far (each also carries a
    /// warning).
    pub fn registry_failures(&self) -> usize {
        self.registry_failures
    }

    /// Gives the resolver the tree's file list (for vendored directories),
    /// so it does not list the tree again.
    pub fn with_tree_paths(mut self, paths: Vec<String>) -> Self {
        self.files = TreeFiles::new(Some(paths));
        self
    }

    fn threshold(&self) -> f32 {
        self.config.raw.confidence_threshold
    }

    /// Resolves every package of `graph`, in package order.
    pub fn resolve_graph(&mut self, tree: &dyn InputTree, graph: &DependencyGraph) -> Vec<ResolvedLicense> {
        let base_dir = match graph.source.path.rfind('/') {
            Some(i) => graph.source.path[..i].to_owned(),
            None => String::new(),
        };
        let mut prefetched = self.prefetch_cargo_manifests(tree, &base_dir, graph);
        let mut waiting: Vec<usize> = Vec::new();
        self.defer_registry = true;
        let mut resolved: Vec<ResolvedLicense> = graph
            .packages
            .iter()
            .enumerate()
            .map(|(i, p)| {
                self.cargo_lookup = prefetched.get_mut(i).and_then(Option::take);
                self.deferred = false;
                let resolved = self.resolve(tree, &graph.source.path, &base_dir, p);
                if self.deferred {
                    waiting.push(i);
                }
                self.cargo_lookup = None;
                resolved
            })
            .collect();
        self.defer_registry = false;
        self.deferred = false;
        let (go_waiting, waiting): (Vec<usize>, Vec<usize>) =
            waiting.into_iter().partition(|&i| graph.packages[i].ecosystem == Ecosystem::Go);
        if !go_waiting.is_empty() {
            self.go_look_up_all(go_waiting.iter().map(|&i| &graph.packages[i]));
            for i in go_waiting {
                let offline = std::mem::replace(&mut resolved[i], ResolvedLicense::unknown("", Vec::new(), Vec::new()));
                resolved[i] = self.with_go_proxy(tree, &base_dir, &graph.packages[i], offline);
            }
        }
        if !waiting.is_empty() {
            self.look_up_all(waiting.iter().map(|&i| &graph.packages[i]));
            for i in waiting {
                let pkg = &graph.packages[i];
                let offline = std::mem::replace(&mut resolved[i], ResolvedLicense::unknown("", Vec::new(), Vec::new()));
                let answer = self.registry_answers.get(&registry_lookup::key(pkg)).cloned().unwrap_or_else(|| {
                    Err(RegistryError::Unavailable {
                        url: String::new(),
                        message: "the registry look-up did not finish".to_owned(),
                    })
                });
                resolved[i] = self.with_registry(offline, answer);
            }
        }
        resolved
    }

    /// Looks up every package not asked about yet, several at once, and
    /// keeps the answers.
    fn look_up_all<'p>(&mut self, packages: impl Iterator<Item = &'p Package>) {
        let Some(SharedSource(source)) = self.config.registry.clone() else { return };
        let mut keys: Vec<RegistryKey> = Vec::new();
        for p in packages {
            let key = registry_lookup::key(p);
            if !self.registry_answers.contains_key(&key) && !keys.contains(&key) {
                keys.push(key);
            }
        }
        for (key, answer) in registry_lookup::look_up_all(&source, keys) {
            self.registry_answers.insert(key, answer);
        }
    }

    /// Fetches the module zips of every Go package not asked about yet,
    /// several at once, and keeps the answers.
    fn go_look_up_all<'p>(&mut self, packages: impl Iterator<Item = &'p Package>) {
        let Some(source) = self.config.go_modules().cloned() else { return };
        let mut keys: Vec<GoKey> = Vec::new();
        for key in packages.filter_map(go_proxy::key) {
            if !self.go_answers.contains_key(&key) && !keys.contains(&key) {
                keys.push(key);
            }
        }
        for (key, answer) in go_proxy::look_up_all(&source, keys) {
            self.go_answers.insert(key, answer);
        }
    }

    /// An unknown Go module decided again with the proxy's answer (asked
    /// now unless known), checked against the `go.sum` next to the graph.
    fn with_go_proxy(
        &mut self,
        tree: &dyn InputTree,
        base_dir: &str,
        pkg: &Package,
        offline: ResolvedLicense,
    ) -> ResolvedLicense {
        let Some(key) = go_proxy::key(pkg) else { return offline };
        let answer = match self.go_answers.get(&key) {
            Some(a) => a.clone(),
            None => {
                let a = go_proxy::look_up_one(self.config, &key);
                self.go_answers.insert(key.clone(), a.clone());
                a
            }
        };
        if answer.is_err() {
            self.registry_failures += 1;
        }
        let sums = self.go_sums.entry(base_dir.to_owned()).or_insert_with(|| {
            tree.read(&join(base_dir, "go.sum"))
                .map(|b| crate::license::gomod::go_sum_hashes(&String::from_utf8_lossy(&b)))
                .unwrap_or_default()
        });
        let want = sums.get(&key).cloned();
        let threshold = self.threshold();
        go_proxy::decide(offline, &key, answer, want.as_deref(), &mut self.readings, threshold)
    }

    /// The registry's answer for `pkg`, asked now unless known.
    fn look_up(&mut self, pkg: &Package) -> Answer {
        let key = registry_lookup::key(pkg);
        if let Some(a) = self.registry_answers.get(&key) {
            return a.clone();
        }
        let answer = registry_lookup::look_up_one(self.config, pkg);
        self.registry_answers.insert(key, answer.clone());
        answer
    }

    /// An unknown license decided again with the registry's answer.
    fn with_registry(&mut self, offline: ResolvedLicense, answer: Answer) -> ResolvedLicense {
        if answer.is_err() {
            self.registry_failures += 1;
        }
        let threshold = self.threshold();
        registry_lookup::decide(offline, answer, &mut self.readings, threshold)
    }

    /// Looks up the graph's crates in the cargo registry cache on several
    /// threads when there are enough of them. The result is indexed like
    /// `graph.packages`; `None` where nothing was looked up.
    fn prefetch_cargo_manifests(
        &mut self,
        tree: &dyn InputTree,
        base_dir: &str,
        graph: &DependencyGraph,
    ) -> Vec<Option<CacheLookup>> {
        let threads = cargo_cache::lookup_threads();
        if threads < 2 || !CargoCache::enabled(&self.config.raw) {
            return Vec::new();
        }
        let mut wanted: Vec<(usize, String)> = Vec::new();
        for (i, p) in graph.packages.iter().enumerate() {
            if p.ecosystem == Ecosystem::Cargo
                && is_registry_crate(p)
                && self.cargo_tree.vendored_dir(&mut self.files, tree, base_dir, p).is_none()
            {
                wanted.push((i, format!("{}-{}", p.name, p.version)));
            }
        }
        if wanted.len() < cargo_cache::MIN_PARALLEL {
            return Vec::new();
        }
        let dirs = self.cargo_cache.src_dirs(&self.config.raw);
        cargo_cache::lookup_many(dirs, &wanted, graph.packages.len(), threads)
    }

    /// Resolves one package found in `lockfile` (a path in `tree`).
    pub fn resolve(&mut self, tree: &dyn InputTree, lockfile: &str, base_dir: &str, pkg: &Package) -> ResolvedLicense {
        let mut evidence = Vec::new();
        let mut warnings = Vec::new();

        // (d) Clarifications decide when they apply.
        let clarification = self.config.clarifications.iter().find(|c| c.matches(pkg)).cloned();
        if let Some(c) = clarification {
            let applies = match &c.sha256 {
                None => true,
                Some(want) => {
                    let files = self.license_files(tree, base_dir, pkg, c.raw.license_file.as_deref());
                    let hashes: Vec<(String, String)> =
                        files.iter().map(|(path, bytes)| (path.clone(), hex::encode(Sha256::digest(bytes)))).collect();
                    if hashes.iter().any(|(_, h)| h == want) {
                        true
                    } else {
                        warnings.push(if hashes.is_empty() {
                            format!(
                                "clarification for {} not applied: no license file found to check its SHA-256",
                                pkg.name
                            )
                        } else {
                            format!(
                                "clarification for {} not applied: license file changed (SHA-256 {} ≠ pinned {want})",
                                pkg.name,
                                hashes.iter().map(|(p, h)| format!("{p}={h}")).collect::<Vec<_>>().join(", ")
                            )
                        });
                        false
                    }
                }
            };
            if applies {
                evidence.push(Evidence {
                    source: EvidenceSource::Clarification,
                    file: "steward.toml".to_owned(),
                    field: Some(format!("licenses.clarifications[name={:?}]", c.raw.name)),
                    value: c.raw.expression.clone(),
                    expression: Some(LicenseValue::Expr(c.expression.clone())),
                    confidence: 1.0,
                    parameters: BTreeMap::new(),
                    warnings: Vec::new(),
                });
                // Keep what the input said, for the record.
                evidence.extend(self.input_evidence(lockfile, pkg).into_iter().map(|(e, _)| e));
                return self.readings.known(c.expression, 1.0, evidence, warnings);
            }
        }

        // (a) License data inside the input.
        let input = self.input_evidence(lockfile, pkg);
        let mut file_pointer: Option<String> = None;
        let mut said_noassertion = false;
        let mut said_none = false;
        let mut usable: Vec<(Evidence, LicenseExpr)> = Vec::new();
        for (ev, parsed) in input {
            match parsed.map(|p| p.value) {
                Some(LicenseValue::Expr(e)) => {
                    if let Some(f) = see_license_in(&ev.value) {
                        // A pointer to a file, not a license.
                        let mut ev = ev;
                        ev.expression = None;
                        ev.confidence = 0.0;
                        ev.warnings = vec![format!("npm's \"SEE LICENSE IN\": the license text is in {f}")];
                        file_pointer = Some(f);
                        evidence.push(ev);
                    } else {
                        usable.push((ev, e));
                    }
                }
                Some(LicenseValue::NoAssertion) => {
                    said_noassertion = true;
                    evidence.push(ev);
                }
                Some(LicenseValue::None) => {
                    said_none = true;
                    evidence.push(ev);
                }
                None => evidence.push(ev),
            }
        }
        if !usable.is_empty() {
            // SPDX: a concluded license beats a declared one.
            if usable.iter().any(|(e, _)| e.field.as_deref().is_some_and(|f| f.contains("licenseConcluded"))) {
                usable.sort_by_key(|(e, _)| !e.field.as_deref().is_some_and(|f| f.contains("licenseConcluded")));
                usable.truncate(1);
            }
            let mut exprs: Vec<LicenseExpr> = Vec::new();
            let mut confidence: f32 = 1.0;
            for (ev, e) in &usable {
                confidence = confidence.min(ev.confidence);
                if !exprs.iter().any(|x| x.canonical() == e.canonical()) {
                    exprs.push(e.clone());
                }
            }
            let expr = if exprs.len() == 1 {
                exprs.pop().unwrap_or_else(|| LicenseExpr::id("NOASSERTION"))
            } else {
                warnings.push(format!("{} license entries in the input combined with AND", exprs.len()));
                LicenseExpr::And(exprs)
            };
            let mut all: Vec<Evidence> = usable.into_iter().map(|(e, _)| e).collect();
            all.extend(evidence);
            return self.readings.known(expr, confidence, all, warnings);
        }

        // (b)+(c) Local manifests and license texts.
        let local = self.local_evidence(tree, base_dir, pkg, file_pointer.as_deref());
        let mut best: Option<(LicenseExpr, f32)> = None;
        for ev in &local {
            if let Some(LicenseValue::Expr(e)) = &ev.expression
                && best.is_none()
            {
                best = Some((e.clone(), ev.confidence));
            }
        }
        let disagreement = field_text_disagreement(&local);
        let mut all = local;
        all.extend(evidence);
        if let Some((expr, confidence)) = best {
            let mut resolved = self.readings.known(expr, confidence, all, warnings);
            if let Some(d) = disagreement {
                resolved.warnings.push(d.clone());
                resolved.field_text_disagreement = Some(d);
            }
            return resolved;
        }
        let reason = if said_none {
            "the input says NONE (no license)".to_owned()
        } else if said_noassertion {
            "the input says NOASSERTION and no local manifest or license text was found".to_owned()
        } else if let Some(f) = file_pointer {
            format!("the license is in a file ({f}) that was not found locally")
        } else if let Some(low) = all.iter().find(|e| e.source == EvidenceSource::LicenseText) {
            format!("a license text was found ({}) but matched no license above the threshold", low.file)
        } else {
            let where_ = match pkg.ecosystem {
                Ecosystem::Cargo
                    if !pkg
                        .source
                        .as_deref()
                        .is_some_and(|s| s.starts_with("registry+") || s.starts_with("sparse+")) =>
                {
                    "a workspace, path or git crate whose Cargo.toml in the scanned tree has no license (or is not there): Cargo.lock has no license field and only registry crates are looked up in the cargo registry cache"
                }
                Ecosystem::Cargo => {
                    "the input has no license field and the crate is not in the local cargo registry cache"
                }
                Ecosystem::Npm => "the input has no license field and node_modules has no package.json for it",
                Ecosystem::Go => "Go modules carry no license field and the module is not in the local module cache",
                Ecosystem::Pypi => "the input has no license field and no installed *.dist-info was found",
                Ecosystem::Other => "the input has no license field",
            };
            format!("no license data: {where_}")
        };
        let offline = ResolvedLicense::unknown(reason, all, warnings);
        if said_none {
            // The input decided: there is no license.
            return offline;
        }
        // (e) The registry, when online.
        let plan = match pkg.ecosystem {
            Ecosystem::Go => go_proxy::plan(self.config, pkg),
            _ => registry_lookup::plan(self.config, pkg),
        };
        match plan {
            RegistryPlan::Off => offline,
            RegistryPlan::Skip(why) => {
                let mut offline = offline;
                if let Some(r) = offline.unknown_reason.as_mut() {
                    r.push_str("; ");
                    r.push_str(&why);
                }
                offline
            }
            RegistryPlan::Ask if self.defer_registry => {
                self.deferred = true;
                offline
            }
            RegistryPlan::Ask if pkg.ecosystem == Ecosystem::Go => self.with_go_proxy(tree, base_dir, pkg, offline),
            RegistryPlan::Ask => {
                let answer = self.look_up(pkg);
                self.with_registry(offline, answer)
            }
        }
    }

    fn input_evidence(&mut self, lockfile: &str, pkg: &Package) -> Vec<(Evidence, Option<ParsedLicense>)> {
        pkg.raw_licenses
            .iter()
            .map(|raw| {
                let parsed = self.readings.parse(&raw.value);
                let (expression, confidence, warnings) = match &parsed {
                    Some(p) => (Some(p.value.clone()), parsed_confidence(p), p.warnings.clone()),
                    None => (None, 0.0, vec!["empty license string".to_owned()]),
                };
                let ev = Evidence {
                    source: EvidenceSource::InputField,
                    file: lockfile.to_owned(),
                    field: Some(raw.field.clone()),
                    value: raw.value.clone(),
                    expression,
                    confidence,
                    parameters: BTreeMap::new(),
                    warnings,
                };
                (ev, parsed)
            })
            .collect()
    }

    /// Evidence from local manifests and texts, best first.
    fn local_evidence(
        &mut self,
        tree: &dyn InputTree,
        base_dir: &str,
        pkg: &Package,
        file_pointer: Option<&str>,
    ) -> Vec<Evidence> {
        let threshold = self.threshold();
        let mut out = Vec::new();
        match pkg.ecosystem {
            Ecosystem::Cargo => {
                if let Some(dir) = self.cargo_tree.vendored_dir(&mut self.files, tree, base_dir, pkg) {
                    cargo_tree::vendored_manifest(tree, &mut self.files, &mut self.readings, threshold, &dir, &mut out);
                } else if pkg.source.is_none()
                    && let Some(dir) = self.cargo_tree.local_crate_dir(&mut self.files, tree, base_dir, &pkg.name)
                {
                    cargo_tree::local_crate_manifest(
                        tree,
                        &mut self.files,
                        &mut self.readings,
                        threshold,
                        base_dir,
                        &dir,
                        &mut out,
                    );
                }
                let done = self.cargo_lookup.take();
                if out.is_empty()
                    && let Some((dir, keys)) = done.unwrap_or_else(|| self.cargo_cache.manifest(&self.config.raw, pkg))
                {
                    out = cargo_cache::cache_evidence(&dir, keys, threshold, &mut self.readings);
                }
            }
            Ecosystem::Npm => {
                if self.node_modules.present(tree, base_dir) {
                    let dir = node_modules::package_dir(base_dir, &pkg.name);
                    node_modules::manifest_in_tree(tree, &dir, file_pointer, threshold, &mut out);
                }
            }
            Ecosystem::Go => {
                let vendored = join(base_dir, &format!("vendor/{}", pkg.name));
                self.files.texts_in(tree, &vendored, threshold, &mut out);
                if out.is_empty()
                    && let Some(dir) = self.go_cache.module_dir(&self.config.raw, pkg)
                {
                    texts_on_disk(&dir, threshold, &mut out);
                }
            }
            Ecosystem::Pypi => {
                if let Some(dir) = self.site_packages.dist_info_dir(&self.config.raw, pkg) {
                    python_site::metadata_evidence(&dir, threshold, &mut out);
                }
            }
            Ecosystem::Other => {}
        }
        out
    }

    /// License files of a package (for clarification hashes): path and bytes.
    fn license_files(
        &mut self,
        tree: &dyn InputTree,
        base_dir: &str,
        pkg: &Package,
        named: Option<&str>,
    ) -> Vec<(String, Vec<u8>)> {
        let mut out = Vec::new();
        let mut tree_dirs = Vec::new();
        let mut disk_dirs: Vec<PathBuf> = Vec::new();
        match pkg.ecosystem {
            Ecosystem::Cargo => {
                tree_dirs.extend(self.cargo_tree.vendored_dir(&mut self.files, tree, base_dir, pkg));
                disk_dirs.extend(self.cargo_cache.dir(&self.config.raw, pkg));
            }
            Ecosystem::Npm => tree_dirs.push(node_modules::package_dir(base_dir, &pkg.name)),
            Ecosystem::Go => {
                tree_dirs.push(join(base_dir, &format!("vendor/{}", pkg.name)));
                disk_dirs.extend(self.go_cache.module_dir(&self.config.raw, pkg));
            }
            Ecosystem::Pypi => {
                if let Some(d) = self.site_packages.dist_info_dir(&self.config.raw, pkg) {
                    disk_dirs.push(d.join("licenses"));
                    disk_dirs.push(d);
                }
            }
            Ecosystem::Other => {}
        }
        for dir in tree_dirs {
            let names: Vec<String> = match named {
                Some(n) => vec![join(&dir, n)],
                None => self.files.files_in(tree, &dir).into_iter().filter(|p| is_license_path(p)).collect(),
            };
            for p in names {
                if let Ok(bytes) = tree.read(&p) {
                    out.push((p, bytes));
                }
            }
        }
        for dir in disk_dirs {
            let names: Vec<PathBuf> = match named {
                Some(n) => vec![dir.join(n)],
                None => license_files_on_disk(&dir),
            };
            for p in names {
                if let Ok(bytes) = std::fs::read(&p) {
                    out.push((p.display().to_string(), bytes));
                }
            }
        }
        out
    }
}
