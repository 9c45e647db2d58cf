package console

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"unicode"

	"github.com/todoku/todoku/storage"
)

// Accounts manages staff accounts and API tokens, for the console's admin
// pages and the `todoku admin` commands alike. Every change is audited
// with actor.
type Accounts struct{ DB *storage.DB }

// ErrBadName is returned for an account or token name that is not allowed.
var ErrBadName = errors.New("使える名前は英数字と . _ - の1〜64文字です")

// CheckName checks an account or token name: 1-64 ASCII letters, digits,
// '.', '_' or '-' (they appear in URLs, audit records and the CLI).
func CheckName(name string) error {
	if name == "" || len(name) > 64 {
		return ErrBadName
	}
	for _, r := range name {
		if r > unicode.MaxASCII || !(unicode.IsLetter(r) || unicode.IsDigit(r) || strings.ContainsRune("._-", r)) {
			return ErrBadName
		}
	}
	return nil
}

// Create adds an account. With password "" it generates one, marked to be
// changed at the first sign-in, and returns it (to be shown once).
func (a Accounts) Create(ctx context.Context, name, role, password, actor string) (generated string, err error) {
	if err := CheckName(name); err != nil {
		return "", err
	}
	if !ValidRole(role) {
		return "", fmt.Errorf("unknown role %q (staff, operator or admin)", role)
	}
	hash, generated, err := hashOrGenerate(password)
	if err != nil {
		return "", err
	}
	acc := &storage.StaffAccount{Name: name, Role: role, PasswordHash: hash, MustChangePassword: generated != ""}
	if err := a.DB.CreateStaffAccount(ctx, acc, actor); err != nil {
		return "", err
	}
	return generated, nil
}

// hashOrGenerate hashes a password someone chose (after checking it), or,
// for "", a generated one-time password that it also returns.
func hashOrGenerate(password string) (hash, generated string, err error) {
	if password == "" {
		generated = GeneratePassword()
		password = generated
	} else if err := CheckNewPassword(password); err != nil {
		return "", "", err
	}
	hash, err = HashPassword(password)
	return hash, generated, err
}

// SetPassword sets an account's password (generated when "", then to be
// changed at the next sign-in) and signs it out everywhere but keepSession.
func (a Accounts) SetPassword(ctx context.Context, name, password, actor, keepSession string) (generated string, err error) {
	hash, generated, err := hashOrGenerate(password)
	if err != nil {
		return "", err
	}
	mustChange := generated != ""
	upd := storage.StaffAccountUpdate{PasswordHash: &hash, MustChangePassword: &mustChange}
	if err := a.DB.UpdateStaffAccount(ctx, name, upd, actor, "account.password", keepSession); err != nil {
		return "", err
	}
	return generated, nil
}

// SetDisabled disables (signing it out everywhere) or enables an account.
func (a Accounts) SetDisabled(ctx context.Context, name string, disabled bool, actor string) error {
	action := "account.enable"
	if disabled {
		action = "account.disable"
	}
	return a.DB.UpdateStaffAccount(ctx, name, storage.StaffAccountUpdate{Disabled: &disabled}, actor, action, "")
}

// SetRole changes an account's role (signing it out everywhere).
func (a Accounts) SetRole(ctx context.Context, name, role, actor string) error {
	if !ValidRole(role) {
		return fmt.Errorf("unknown role %q (staff, operator or admin)", role)
	}
	return a.DB.UpdateStaffAccount(ctx, name, storage.StaffAccountUpdate{Role: &role}, actor, "account.role", "")
}

// CreateToken makes an API token and returns it; only its digest is kept.
func (a Accounts) CreateToken(ctx context.Context, name, role, actor string) (string, error) {
	if err := CheckName(name); err != nil {
		return "", err
	}
	if !ValidRole(role) {
		return "", fmt.Errorf("unknown role %q (staff, operator or admin)", role)
	}
	tok := NewToken()
	t := &storage.APIToken{Name: name, Role: role, TokenHash: digest(tok), CreatedBy: actor}
	if err := a.DB.CreateAPIToken(ctx, t); err != nil {
		return "", err
	}
	return tok, nil
}

// RevokeToken revokes the active token of that name.
func (a Accounts) RevokeToken(ctx context.Context, name, actor string) error {
	return a.DB.RevokeAPIToken(ctx, name, actor)
}

// EnsureAdmin creates the first admin account when there is none: name
// with password, or with a generated one-time password that it returns
// (the caller logs it once). created is false when an admin existed.
func (a Accounts) EnsureAdmin(ctx context.Context, name, password string) (created bool, generated string, err error) {
	if name == "" {
		name = "admin"
	}
	if err := CheckName(name); err != nil {
		return false, "", fmt.Errorf("TODOKU_ADMIN_USER: %w", err)
	}
	hash, generated, err := hashOrGenerate(password)
	if err != nil {
		return false, "", fmt.Errorf("TODOKU_ADMIN_PASSWORD: %w", err)
	}
	mustChange := generated != ""
	created, err = a.DB.EnsureAdmin(ctx, &storage.StaffAccount{Name: name, Role: RoleAdmin, PasswordHash: hash, MustChangePassword: mustChange})
	if err != nil || !created {
		return false, "", err
	}
	return true, generated, nil
}
