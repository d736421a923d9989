module example.com/apachelib

go 1.21
