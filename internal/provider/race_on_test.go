//go:build race

package provider

// raceDetector says that the tests run with -race, so that a provider binary they build gets it too.
const raceDetector = true
