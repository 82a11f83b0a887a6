// logcheck: an independent reader of git elite's witnessed log, built only on Go's
// golang.org/x/mod/sumdb/note and golang.org/x/mod/sumdb/tlog (Debian's sources), for
// tests/test_log_go_interop.py.
//
// stdin: one JSON object {"entries": [base64...], "checks": [{"op": ...}, ...]}.
// stdout: a JSON array with one {"ok": bool, "err": string, "out": string} per check.
//
// ops:
//   root   {n, root}                     Go's tlog.TreeHash over Go's own stored hashes
//   record {t, n, root, proof}           tlog.CheckRecord of our inclusion proof
//   tree   {t, n, root_t, root_n, proof} tlog.CheckTree of our consistency proof
//   prove  {t, n}                        Go's ProveRecord (n < t) and ProveTree, as out
//   tile   {level, index, width, data}   tlog.ReadTileData equals our tile bytes
//   open   {vkey, note}                  note.Open with that verifier; out = the text
//   cosig  {vkey, note}                  note.Open with a cosignature/v1 verifier written
//                                        here from c2sp.org/tlog-cosignature; out = time
//   sign   {skey, text}                  note.Sign; out = the signed note
package main

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

type check struct {
	Op     string   `json:"op"`
	N      int64    `json:"n"`
	T      int64    `json:"t"`
	Root   string   `json:"root"`
	RootT  string   `json:"root_t"`
	RootN  string   `json:"root_n"`
	Proof  []string `json:"proof"`
	Level  int      `json:"level"`
	Index  int64    `json:"index"`
	Width  int      `json:"width"`
	Data   string   `json:"data"`
	Vkey   string   `json:"vkey"`
	Skey   string   `json:"skey"`
	Note   string   `json:"note"`
	Text   string   `json:"text"`
}

type result struct {
	Ok  bool   `json:"ok"`
	Err string `json:"err"`
	Out string `json:"out"`
}

type request struct {
	Entries []string `json:"entries"`
	Checks  []check  `json:"checks"`
}

type memory []tlog.Hash

func (m memory) ReadHashes(indexes []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(indexes))
	for i, x := range indexes {
		if x < 0 || x >= int64(len(m)) {
			return nil, fmt.Errorf("no stored hash %d", x)
		}
		out[i] = m[x]
	}
	return out, nil
}

func hash(s string) (tlog.Hash, error) {
	var h tlog.Hash
	raw, err := base64.StdEncoding.DecodeString(s)
	if err != nil || len(raw) != len(h) {
		return h, fmt.Errorf("bad hash %q", s)
	}
	copy(h[:], raw)
	return h, nil
}

func hashes(list []string) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(list))
	for i, s := range list {
		h, err := hash(s)
		if err != nil {
			return nil, err
		}
		out[i] = h
	}
	return out, nil
}

func b64(list []tlog.Hash) string {
	parts := make([]string, len(list))
	for i, h := range list {
		parts[i] = base64.StdEncoding.EncodeToString(h[:])
	}
	return strings.Join(parts, " ")
}

// cosigner verifies c2sp.org/tlog-cosignature v1 lines as a note.Verifier.
type cosigner struct {
	name string
	hash uint32
	key  ed25519.PublicKey
	time uint64
}

func (c *cosigner) Name() string    { return c.name }
func (c *cosigner) KeyHash() uint32 { return c.hash }
func (c *cosigner) Verify(msg, sig []byte) bool {
	if len(sig) != 8+ed25519.SignatureSize {
		return false
	}
	t := binary.BigEndian.Uint64(sig[:8])
	if t > 1<<63-1 {
		return false
	}
	signed := append([]byte("cosignature/v1\ntime "+strconv.FormatUint(t, 10)+"\n"), msg...)
	if !ed25519.Verify(c.key, signed, sig[8:]) {
		return false
	}
	c.time = t
	return true
}

func newCosigner(vkey string) (*cosigner, error) {
	parts := strings.SplitN(vkey, "+", 3)
	if len(parts) != 3 {
		return nil, errors.New("malformed cosigner vkey")
	}
	raw, err := base64.StdEncoding.DecodeString(parts[2])
	if err != nil || len(raw) != 33 || raw[0] != 0x04 {
		return nil, errors.New("cosigner vkey is not type 0x04 with 32 bytes")
	}
	h := sha256.Sum256(append([]byte(parts[0]+"\n"), raw...))
	id := binary.BigEndian.Uint32(h[:4])
	if fmt.Sprintf("%08x", id) != parts[1] {
		return nil, errors.New("cosigner vkey id does not match")
	}
	return &cosigner{name: parts[0], hash: id, key: ed25519.PublicKey(raw[1:])}, nil
}

func run(c check, stored memory) (string, error) {
	switch c.Op {
	case "root":
		want, err := hash(c.Root)
		if err != nil {
			return "", err
		}
		got, err := tlog.TreeHash(c.N, stored)
		if err != nil {
			return "", err
		}
		if got != want {
			return "", fmt.Errorf("root of %d: go %v, ours %v", c.N, got, want)
		}
		return got.String(), nil
	case "record":
		root, err := hash(c.Root)
		if err != nil {
			return "", err
		}
		proof, err := hashes(c.Proof)
		if err != nil {
			return "", err
		}
		leaf, err := stored.ReadHashes([]int64{tlog.StoredHashIndex(0, c.N)})
		if err != nil {
			return "", err
		}
		return "", tlog.CheckRecord(proof, c.T, root, c.N, leaf[0])
	case "tree":
		rt, err := hash(c.RootT)
		if err != nil {
			return "", err
		}
		rn, err := hash(c.RootN)
		if err != nil {
			return "", err
		}
		proof, err := hashes(c.Proof)
		if err != nil {
			return "", err
		}
		return "", tlog.CheckTree(proof, c.T, rt, c.N, rn)
	case "prove":
		tp, err := tlog.ProveTree(c.T, c.N, stored)
		if err != nil {
			return "", err
		}
		out := b64(tp)
		if c.N < c.T {
			rp, err := tlog.ProveRecord(c.T, c.N, stored)
			if err != nil {
				return "", err
			}
			out = b64(rp) + "|" + out
		}
		return out, nil
	case "tile":
		data, err := base64.StdEncoding.DecodeString(c.Data)
		if err != nil {
			return "", err
		}
		t := tlog.Tile{H: 8, L: c.Level, N: c.Index, W: c.Width}
		got, err := tlog.ReadTileData(t, stored)
		if err != nil {
			return "", err
		}
		if !bytes.Equal(got, data) {
			return "", fmt.Errorf("tile %s differs", t.Path())
		}
		return t.Path(), nil
	case "open":
		v, err := note.NewVerifier(c.Vkey)
		if err != nil {
			return "", err
		}
		n, err := note.Open([]byte(c.Note), note.VerifierList(v))
		if err != nil {
			return "", err
		}
		return n.Text, nil
	case "cosig":
		v, err := newCosigner(c.Vkey)
		if err != nil {
			return "", err
		}
		if _, err := note.Open([]byte(c.Note), note.VerifierList(v)); err != nil {
			return "", err
		}
		return strconv.FormatUint(v.time, 10), nil
	case "sign":
		s, err := note.NewSigner(c.Skey)
		if err != nil {
			return "", err
		}
		msg, err := note.Sign(&note.Note{Text: c.Text}, s)
		return string(msg), err
	}
	return "", fmt.Errorf("unknown op %q", c.Op)
}

func main() {
	var req request
	if err := json.NewDecoder(os.Stdin).Decode(&req); err != nil {
		fmt.Fprintln(os.Stderr, "logcheck:", err)
		os.Exit(2)
	}
	var stored memory
	for i, e := range req.Entries {
		data, err := base64.StdEncoding.DecodeString(e)
		if err != nil {
			fmt.Fprintln(os.Stderr, "logcheck: entry", i, err)
			os.Exit(2)
		}
		more, err := tlog.StoredHashes(int64(i), data, stored)
		if err != nil {
			fmt.Fprintln(os.Stderr, "logcheck:", err)
			os.Exit(2)
		}
		stored = append(stored, more...)
	}
	out := make([]result, len(req.Checks))
	for i, c := range req.Checks {
		text, err := run(c, stored)
		out[i] = result{Ok: err == nil, Out: text}
		if err != nil {
			out[i].Err = err.Error()
		}
	}
	if err := json.NewEncoder(os.Stdout).Encode(out); err != nil {
		os.Exit(2)
	}
}
