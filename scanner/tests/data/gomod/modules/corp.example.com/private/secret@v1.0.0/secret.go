package secret

// Key is secret.
const Key = "k"
