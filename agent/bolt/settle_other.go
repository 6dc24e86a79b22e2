//go:build !unix

package bolt

// settle does nothing where the system has no sync call.
func settle() {}
