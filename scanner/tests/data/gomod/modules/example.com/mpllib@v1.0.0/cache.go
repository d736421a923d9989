package mpllib

// Cache is a cache.
type Cache struct{ size int }
