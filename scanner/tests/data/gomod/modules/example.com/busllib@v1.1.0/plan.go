package busllib

// Plan is a plan.
type Plan struct{}
