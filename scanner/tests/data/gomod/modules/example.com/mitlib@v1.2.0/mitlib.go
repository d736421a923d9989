package mitlib

// Hello says hello.
func Hello() string { return "hello" }
