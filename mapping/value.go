package mapping

import "fmt"

// ValueError is a value the target cannot store; it names the column. Both targets'
// encoders return it, so a caller can tell a refused value from a failed write.
type ValueError struct {
	Column string
	Reason string
}

func (e *ValueError) Error() string { return fmt.Sprintf("column %s: %s", e.Column, e.Reason) }
