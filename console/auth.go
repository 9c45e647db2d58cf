package console

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/crypto/argon2"
)

// Roles, each allowed what the one before it may do and more.
const (
	RoleStaff    = "staff"    // read transcripts, take over, reply
	RoleOperator = "operator" // also edits the knowledge base
	RoleAdmin    = "admin"    // also manages accounts and tokens
)

// Roles lists the roles from least to most allowed.
var Roles = []string{RoleStaff, RoleOperator, RoleAdmin}

func roleRank(r string) int {
	for i, x := range Roles {
		if x == r {
			return i + 1
		}
	}
	return 0
}

// ValidRole reports whether r is a role.
func ValidRole(r string) bool { return roleRank(r) > 0 }

// Allows reports whether role may do what need requires.
func Allows(role, need string) bool { return roleRank(role) >= roleRank(need) && roleRank(need) > 0 }

// Principal is who is acting: a signed-in account or an API token.
type Principal struct {
	Name string // account name, or "token:NAME"
	Role string
}

// argon2id parameters: OWASP's minimum (19 MiB, 2 passes, 1 lane), about
// 30 ms a hash here. They are stored in each hash, so raising them later
// keeps old hashes valid.
var argonTime, argonMemory, argonThreads uint32 = 2, 19 * 1024, 1

// HashPassword returns the argon2id hash of pw in the PHC string format.
func HashPassword(pw string) (string, error) {
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	key := argon2.IDKey([]byte(pw), salt, argonTime, argonMemory, uint8(argonThreads), 32)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, argonMemory, argonTime, argonThreads,
		b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// CheckPassword reports whether pw matches hash.
func CheckPassword(hash, pw string) bool {
	parts := strings.Split(hash, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return false
	}
	var m, t uint32
	var p uint8
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &m, &t, &p); err != nil {
		return false
	}
	b64 := base64.RawStdEncoding
	salt, err1 := b64.DecodeString(parts[4])
	want, err2 := b64.DecodeString(parts[5])
	if err1 != nil || err2 != nil || len(want) == 0 {
		return false
	}
	got := argon2.IDKey([]byte(pw), salt, t, m, p, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1
}

// dummyHash is checked against when an account does not exist, so that
// sign-in takes as long for an unknown name as for a wrong password.
var dummyHash, _ = HashPassword("todoku-no-such-account")

// MinPasswordLength is the shortest password accepted.
const MinPasswordLength = 12

// CheckNewPassword says what is wrong with a password someone chose.
func CheckNewPassword(pw string) error {
	if len([]rune(pw)) < MinPasswordLength {
		return fmt.Errorf("パスワードは%d文字以上にしてください", MinPasswordLength)
	}
	if len(pw) > 1024 {
		return errors.New("パスワードが長すぎます")
	}
	return nil
}

// randomString returns n random bytes, base64url-encoded.
func randomString(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic("console: no randomness: " + err.Error())
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// GeneratePassword returns a random password to print once.
func GeneratePassword() string { return randomString(15) }

// tokenPrefix marks todoku API tokens (and secret scanners can find them).
const tokenPrefix = "tdk_"

// NewToken returns a new API token.
func NewToken() string { return tokenPrefix + randomString(32) }

// digest is how session ids and API tokens are stored: they are long
// random strings, so a plain SHA-256 is enough to make a copy of the
// table useless.
func digest(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}
