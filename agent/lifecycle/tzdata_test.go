package lifecycle

// The tests use named zones; embed the database so that they pass on a
// gateway image without one.
import _ "time/tzdata"
