module corp.example.com/private/secret

go 1.21
