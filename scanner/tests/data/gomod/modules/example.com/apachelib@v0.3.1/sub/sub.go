package sub

// Two returns 2.
func Two() int { return 2 }
