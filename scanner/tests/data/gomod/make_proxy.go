//go:build ignore

// make_proxy.go builds proxy/ (the module proxy layout: @v/list, .info,
// .mod, .zip) from modules/<path>@<version>/ with golang.org/x/mod/zip, and
// prints the go.sum lines, computed by golang.org/x/mod/sumdb/dirhash, to
// go.sum. Run once (Debian: golang-go, golang-golang-x-mod-dev):
//
//	GO111MODULE=off GOPATH=/usr/share/gocode go run make_proxy.go
package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"golang.org/x/mod/module"
	"golang.org/x/mod/sumdb/dirhash"
	modzip "golang.org/x/mod/zip"
)

func main() {
	var dirs []string
	filepath.Walk("modules", func(p string, info os.FileInfo, err error) error {
		if err == nil && info.IsDir() && strings.Contains(filepath.Base(p), "@") {
			dirs = append(dirs, p)
			return filepath.SkipDir
		}
		return err
	})
	sort.Strings(dirs)
	var sum bytes.Buffer
	for _, dir := range dirs {
		rel := filepath.ToSlash(strings.TrimPrefix(dir, "modules/"))
		at := strings.LastIndex(rel, "@")
		m := module.Version{Path: rel[:at], Version: rel[at+1:]}
		escPath, err := module.EscapePath(m.Path)
		check(err)
		escVer, err := module.EscapeVersion(m.Version)
		check(err)
		out := filepath.Join("proxy", escPath, "@v")
		check(os.MkdirAll(out, 0o755))
		zipPath := filepath.Join(out, escVer+".zip")
		f, err := os.Create(zipPath)
		check(err)
		check(modzip.CreateFromDir(f, m, dir))
		check(f.Close())
		gomod, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		check(err)
		check(os.WriteFile(filepath.Join(out, escVer+".mod"), gomod, 0o644))
		check(os.WriteFile(filepath.Join(out, escVer+".info"), []byte(fmt.Sprintf("{\"Version\":%q,\"Time\":\"2024-01-01T00:00:00Z\"}\n", m.Version)), 0o644))
		check(os.WriteFile(filepath.Join(out, "list"), []byte(m.Version+"\n"), 0o644))
		zipHash, err := dirhash.HashZip(zipPath, dirhash.Hash1)
		check(err)
		dirHash, err := dirhash.HashDir(dir, m.String(), dirhash.Hash1)
		check(err)
		if zipHash != dirHash {
			panic(fmt.Sprintf("%s: zip %s != dir %s", m, zipHash, dirHash))
		}
		modHash, err := dirhash.Hash1([]string{"go.mod"}, func(string) (io.ReadCloser, error) {
			return io.NopCloser(bytes.NewReader(gomod)), nil
		})
		check(err)
		fmt.Fprintf(&sum, "%s %s %s\n%s %s/go.mod %s\n", m.Path, m.Version, zipHash, m.Path, m.Version, modHash)
	}
	check(os.WriteFile("go.sum", sum.Bytes(), 0o644))
}

func check(err error) {
	if err != nil {
		panic(err)
	}
}
