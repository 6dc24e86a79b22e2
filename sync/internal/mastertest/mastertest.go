// Package mastertest makes master data files for the tests of sync: CSV
// catalogues of any number of rows, in the form a hospital's system
// exports them (agent/master reads them). It is for tests only.
package mastertest

import (
	"bytes"
	"fmt"
	"strconv"

	"github.com/udi-edge/udi-edge/agent/code"
)

// GTIN returns the i-th GTIN-14 under the fictitious company prefix
// 0690123 (GS1 China's range), its check digit valid; i below 1,000,000.
func GTIN(i int) string {
	s := fmt.Sprintf("0690123%06d", i)
	c, err := code.CheckDigit(s)
	if err != nil {
		panic(err)
	}
	return s + strconv.Itoa(c)
}

// Catalogue returns a CSV catalogue of rows products, GTIN(0) on, about
// 85 bytes a row (a 40,000-row file is 3.4 MB). edition is part of every
// name, so that two editions of the same size differ.
func Catalogue(rows int, edition string) []byte {
	var b bytes.Buffer
	b.Grow(90 * (rows + 1))
	b.WriteString("gtin,name,model,unit_price,high_value\n")
	for i := range rows {
		fmt.Fprintf(&b, "%s,髋关节假体 股骨柄 陶瓷头 %s-%06d,规格 %d号,%d.%02d,%s\n",
			GTIN(i), edition, i, i%40, 100+i%9000, i%100, [2]string{"否", "是"}[i%3/2])
	}
	return b.Bytes()
}
