module github.com/Example/BSDLib

go 1.21
