package verify

import (
	"encoding/binary"
	"hash/maphash"
)

// digest summarises a set of rows independently of their order: the count and the sum
// (mod 2^64) of a 64-bit hash of each row's key and values. The two sides stream rows in
// whatever order their servers return them, so only an order-independent summary can be
// compared.
type digest struct {
	Rows int64
	Sum  uint64
}

func (d *digest) add(h uint64) { d.Rows++; d.Sum += h }

// hasher hashes rows with one seed per verify run, so both sides' hashes are comparable.
type hasher struct {
	seed maphash.Seed
}

func newHasher() *hasher { return &hasher{seed: maphash.MakeSeed()} }

// rowHash hashes a row's key and values; NULL differs from every value, including empty.
func (h *hasher) rowHash(r *row, scratch []byte) (uint64, []byte) {
	b := scratch[:0]
	b = binary.AppendUvarint(b, uint64(len(r.key)))
	b = append(b, r.key...)
	for _, v := range r.vals {
		if v == nil {
			b = append(b, 0)
			continue
		}
		b = append(b, 1)
		b = binary.AppendUvarint(b, uint64(len(v)))
		b = append(b, v...)
	}
	return maphash.Bytes(h.seed, b), b
}

// bucket assigns a row to one of n buckets by its key.
func (h *hasher) bucket(key string, n int) int {
	if n <= 1 {
		return 0
	}
	return int(maphash.String(h.seed, key) % uint64(n))
}
