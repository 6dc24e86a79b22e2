package forecast

import "math"

// Coefficients of Acklam's rational approximations of the standard normal
// quantile: the central region (a, b) and the tails (c, d).
var (
	acklamA = [6]float64{-3.969683028665376e+01, 2.209460984245205e+02, -2.759285104469687e+02, 1.383577518672690e+02, -3.066479806614716e+01, 2.506628277459239e+00}
	acklamB = [5]float64{-5.447609879822406e+01, 1.615858368580409e+02, -1.556989798598866e+02, 6.680131188771972e+01, -1.328068155288572e+01}
	acklamC = [6]float64{-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e+00, -2.549732539343734e+00, 4.374664141464968e+00, 2.938163982698783e+00}
	acklamD = [4]float64{7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00, 3.754408661907416e+00}
)

// acklamLow is where Acklam's tail approximation takes over.
const acklamLow = 0.02425

// NormalQuantile returns z such that a standard normal variable is below z
// with probability p: the inverse of the standard normal CDF. It is -Inf
// at 0, +Inf at 1 and NaN outside [0, 1].
//
// It is Acklam's rational approximation (relative error below 1.15e-9)
// refined by one Halley step on the CDF computed with math.Erfc, which
// brings it to about machine precision; the upper half is the lower
// half's mirror image.
func NormalQuantile(p float64) float64 {
	switch {
	case !(p >= 0 && p <= 1):
		return math.NaN()
	case p == 0:
		return math.Inf(-1)
	case p == 1:
		return math.Inf(1)
	}
	if p > 0.5 {
		// By symmetry, from the lower half, where 1 − p is exact
		// (Sterbenz) and the refinement below has no cancellation.
		return -NormalQuantile(1 - p)
	}
	var x float64
	if p < acklamLow {
		x = acklamTail(math.Sqrt(-2 * math.Log(p)))
	} else {
		q := p - 0.5
		r := q * q
		a, b := &acklamA, &acklamB
		x = (((((a[0]*r+a[1])*r+a[2])*r+a[3])*r+a[4])*r + a[5]) * q /
			(((((b[0]*r+b[1])*r+b[2])*r+b[3])*r+b[4])*r + 1)
	}
	// Halley's step on F(x) − p, with F(x) = erfc(−x/√2)/2 and
	// F'(x) = φ(x): u = (F(x) − p)/φ(x), x ← x − u/(1 + x·u/2).
	e := 0.5*math.Erfc(-x/math.Sqrt2) - p
	u := e * math.Sqrt(2*math.Pi) * math.Exp(x*x/2)
	return x - u/(1+x*u/2)
}

// acklamTail is Acklam's lower-tail approximation at q = √(−2 ln p).
func acklamTail(q float64) float64 {
	c, d := &acklamC, &acklamD
	return (((((c[0]*q+c[1])*q+c[2])*q+c[3])*q+c[4])*q + c[5]) /
		((((d[0]*q+d[1])*q+d[2])*q+d[3])*q + 1)
}
