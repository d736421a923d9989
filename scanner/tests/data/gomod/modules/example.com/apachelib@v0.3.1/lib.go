package apachelib

// Version is the library version.
const Version = "0.3.1"
