package bsdlib

// ID is an identifier.
type ID [16]byte
