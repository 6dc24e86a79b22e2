//go:build !linux

package sign

// linkUnnamed returns errNoUnnamed: files without a name are Linux's
// (O_TMPFILE).
func linkUnnamed(path string, data []byte) error { return errNoUnnamed }
