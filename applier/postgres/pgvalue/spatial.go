package pgvalue

import (
	"encoding/binary"
	"encoding/hex"
	"errors"
)

// ewkbSRIDFlag marks an EWKB geometry whose type is followed by its SRID.
const ewkbSRIDFlag = 0x20000000

// appendEWKBHex writes MySQL's internal spatial value (SRID as 4 little-endian bytes, then
// the WKB) as the hex EWKB PostGIS reads in COPY: the SRID moves behind the geometry type,
// flagged there. SRID 0 (none) is plain WKB, which PostGIS reads as SRID 0 (unknown).
func appendEWKBHex(dst, v []byte) ([]byte, error) {
	if len(v) < 4+5 {
		return dst, errors.New("spatial value shorter than SRID + WKB header")
	}
	srid := binary.LittleEndian.Uint32(v[:4])
	wkb := v[4:]
	if srid == 0 {
		return hex.AppendEncode(dst, wkb), nil
	}
	var order binary.ByteOrder
	switch wkb[0] {
	case 0:
		order = binary.BigEndian
	case 1:
		order = binary.LittleEndian
	default:
		return dst, errors.New("spatial value has no valid WKB byte order")
	}
	typ := order.Uint32(wkb[1:5])
	var head [9]byte
	head[0] = wkb[0]
	order.PutUint32(head[1:5], typ|ewkbSRIDFlag)
	order.PutUint32(head[5:9], srid)
	dst = hex.AppendEncode(dst, head[:])
	return hex.AppendEncode(dst, wkb[5:]), nil
}
