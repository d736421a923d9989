module example.com/mpllib

go 1.21
