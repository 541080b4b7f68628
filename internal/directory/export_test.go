package directory

// SetBeforeWrite runs f between the read and the write of every change, until the returned function restores it.
func SetBeforeWrite(f func(dn string)) (restore func()) {
	old := beforeWrite
	beforeWrite = f
	return func() { beforeWrite = old }
}

// TruncateUTF16 shortens s to at most limit UTF-16 code units, as the block record's texts are shortened.
var TruncateUTF16 = truncateUTF16
