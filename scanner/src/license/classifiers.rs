//! PyPI trove classifiers (`License :: OSI Approved :: MIT License`) mapped
//! to SPDX ids, for installed `METADATA` (the evidence resolver) and PyPI's
//! JSON (the registry parsers) alike. Only classifiers that name a license
//! are mapped; a bare `License :: OSI Approved` gives no id. Data, reviewed
//! like code; no I/O.

/// Maps a trove classifier to an SPDX id where the classifier is precise.
pub(crate) fn classifier_license(c: &str) -> Option<&'static str> {
    let last = c.rsplit("::").next()?.trim();
    Some(match last {
        "MIT License" => "MIT",
        "MIT No Attribution License (MIT-0)" => "MIT-0",
        "Apache Software License" => "Apache-2.0",
        "BSD License" => "LicenseRef-BSD",
        "ISC License (ISCL)" => "ISC",
        "Python Software Foundation License" => "PSF-2.0",
        "Mozilla Public License 2.0 (MPL 2.0)" => "MPL-2.0",
        "Mozilla Public License 1.1 (MPL 1.1)" => "MPL-1.1",
        "GNU General Public License v2 (GPLv2)" => "GPL-2.0-only",
        "GNU General Public License v2 or later (GPLv2+)" => "GPL-2.0-or-later",
        "GNU General Public License v3 (GPLv3)" => "GPL-3.0-only",
        "GNU General Public License v3 or later (GPLv3+)" => "GPL-3.0-or-later",
        "GNU Lesser General Public License v2 (LGPLv2)" => "LGPL-2.0-only",
        "GNU Lesser General Public License v2 or later (LGPLv2+)" => "LGPL-2.0-or-later",
        "GNU Lesser General Public License v3 (LGPLv3)" => "LGPL-3.0-only",
        "GNU Lesser General Public License v3 or later (LGPLv3+)" => "LGPL-3.0-or-later",
        "GNU Affero General Public License v3" => "AGPL-3.0-only",
        "GNU Affero General Public License v3 or later (AGPLv3+)" => "AGPL-3.0-or-later",
        "The Unlicense (Unlicense)" => "Unlicense",
        "Zope Public License" => "ZPL-2.1",
        "Eclipse Public License 2.0 (EPL-2.0)" => "EPL-2.0",
        "Eclipse Public License 1.0 (EPL-1.0)" => "EPL-1.0",
        "European Union Public Licence 1.2 (EUPL 1.2)" => "EUPL-1.2",
        "Boost Software License 1.0 (BSL-1.0)" => "BSL-1.0",
        "zlib/libpng License" => "Zlib",
        "Public Domain" => "LicenseRef-public-domain",
        "CC0 1.0 Universal (CC0 1.0) Public Domain Dedication" => "CC0-1.0",
        "Other/Proprietary License" => "LicenseRef-proprietary",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::classifier_license;

    #[test]
    fn the_last_segment_decides() {
        assert_eq!(classifier_license("License :: OSI Approved :: MIT License"), Some("MIT"));
        assert_eq!(classifier_license("License :: OSI Approved :: Apache Software License"), Some("Apache-2.0"));
        assert_eq!(classifier_license("License :: Public Domain"), Some("LicenseRef-public-domain"));
        assert_eq!(classifier_license("License :: OSI Approved"), None);
        assert_eq!(classifier_license("License :: Other/Proprietary License"), Some("LicenseRef-proprietary"));
        assert_eq!(classifier_license("Programming Language :: Python"), None);
        assert_eq!(classifier_license(""), None);
    }
}
