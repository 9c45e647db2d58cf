package storage

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"gorm.io/gorm"
)

// Staff accounts, their console sessions, API tokens and the sign-in
// throttle. Storage keeps hashes only: passwords are hashed and session and
// token secrets digested by the console before they reach these methods.

// ErrExists is returned when a name is already taken.
var ErrExists = errors.New("storage: already exists")

// StaffAccount is a person who signs in to the console.
type StaffAccount struct {
	ID                 int64 `gorm:"primaryKey"`
	Name               string
	Role               string // staff, operator, admin
	PasswordHash       string
	MustChangePassword bool // a generated one-time password: change it at the next sign-in
	DisabledAt         *time.Time
	CreatedAt          time.Time
	UpdatedAt          time.Time
	LastSigninAt       *time.Time
}

// StaffSession is one signed-in browser. IDHash is the digest of the
// cookie's secret, so a copy of the table signs no one in.
type StaffSession struct {
	IDHash     string `gorm:"primaryKey"`
	AccountID  int64
	CSRF       string
	Address    string
	CreatedAt  time.Time
	LastSeenAt time.Time
}

// APIToken is a bearer token for the JSON API. Names are unique among the
// tokens not revoked.
type APIToken struct {
	ID         int64 `gorm:"primaryKey"`
	Name       string
	Role       string
	TokenHash  string
	CreatedBy  string
	CreatedAt  time.Time
	LastUsedAt *time.Time
	RevokedAt  *time.Time
}

func migrateStaff(tx *gorm.DB, dialect string) error {
	return execAll(tx, dialect,
		`CREATE TABLE staff_accounts (
			id                    {PK},
			name                  TEXT NOT NULL,
			role                  TEXT NOT NULL,
			password_hash         TEXT NOT NULL,
			must_change_password  BOOLEAN NOT NULL DEFAULT FALSE,
			disabled_at           {TS},
			created_at            {TS} NOT NULL,
			updated_at            {TS} NOT NULL,
			last_signin_at        {TS}
		)`,
		`CREATE UNIQUE INDEX staff_accounts_name ON staff_accounts (name)`,
		`CREATE TABLE staff_sessions (
			id_hash       TEXT PRIMARY KEY,
			account_id    BIGINT NOT NULL REFERENCES staff_accounts(id) ON DELETE CASCADE,
			csrf          TEXT NOT NULL,
			address       TEXT NOT NULL DEFAULT '',
			created_at    {TS} NOT NULL,
			last_seen_at  {TS} NOT NULL
		)`,
		`CREATE INDEX staff_sessions_account ON staff_sessions (account_id)`,
		`CREATE TABLE api_tokens (
			id            {PK},
			name          TEXT NOT NULL,
			role          TEXT NOT NULL,
			token_hash    TEXT NOT NULL,
			created_by    TEXT NOT NULL DEFAULT '',
			created_at    {TS} NOT NULL,
			last_used_at  {TS},
			revoked_at    {TS}
		)`,
		`CREATE UNIQUE INDEX api_tokens_hash ON api_tokens (token_hash)`,
		`CREATE UNIQUE INDEX api_tokens_active_name ON api_tokens (name) WHERE revoked_at IS NULL`,
		`CREATE TABLE signin_throttle (
			key           TEXT PRIMARY KEY,
			failures      INTEGER NOT NULL,
			first_at      {TS} NOT NULL,
			locked_until  {TS}
		)`,
		`CREATE TABLE conversation_notes (
			id               {PK},
			conversation_id  BIGINT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
			author           TEXT NOT NULL,
			text             TEXT NOT NULL,
			created_at       {TS} NOT NULL
		)`,
		`CREATE INDEX conversation_notes_conversation ON conversation_notes (conversation_id, id)`,
		`CREATE TABLE conversation_tags (
			conversation_id  BIGINT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
			tag              TEXT NOT NULL,
			added_by         TEXT NOT NULL,
			added_at         {TS} NOT NULL,
			PRIMARY KEY (conversation_id, tag)
		)`,
		`CREATE INDEX conversation_tags_tag ON conversation_tags (tag, conversation_id)`,
	)
}

func isDuplicate(err error) bool {
	return isUniqueViolation(err) || (err != nil && strings.Contains(err.Error(), "UNIQUE constraint failed"))
}

// Audit writes one audit record. Never pass message content in Detail.
func (db *DB) Audit(ctx context.Context, actor, action, subject, detail string) error {
	e := AuditLog{Actor: actor, Action: action, SubjectID: subject, Detail: detail, At: db.now()}
	if err := db.gorm.WithContext(ctx).Create(&e).Error; err != nil {
		return fmt.Errorf("storage: audit: %w", err)
	}
	return nil
}

// AuditEntries returns the newest audit records with id below before (0:
// from the newest), at most limit.
func (db *DB) AuditEntries(ctx context.Context, before int64, limit int) ([]AuditLog, error) {
	q := db.gorm.WithContext(ctx).Order("id DESC").Limit(limit)
	if before > 0 {
		q = q.Where("id < ?", before)
	}
	var es []AuditLog
	if err := q.Find(&es).Error; err != nil {
		return nil, fmt.Errorf("storage: audit entries: %w", err)
	}
	return es, nil
}

// CreateStaffAccount adds an account and audits it; ErrExists when the
// name is taken.
func (db *DB) CreateStaffAccount(ctx context.Context, a *StaffAccount, actor string) error {
	now := db.now()
	a.CreatedAt, a.UpdatedAt = now, now
	err := db.gorm.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Create(a).Error; err != nil {
			return err
		}
		return tx.Create(&AuditLog{Actor: actor, Action: "account.create", SubjectID: a.Name, Detail: "role=" + a.Role, At: now}).Error
	})
	if isDuplicate(err) {
		return ErrExists
	}
	if err != nil {
		return fmt.Errorf("storage: create account: %w", err)
	}
	return nil
}

// EnsureAdmin creates a as the first admin when no admin account exists
// (enabled or not), and reports whether it did. Replicas starting at once
// create it once: the insert is conditional and the name unique.
func (db *DB) EnsureAdmin(ctx context.Context, a *StaffAccount) (bool, error) {
	now := db.now()
	created := false
	err := db.gorm.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		res := tx.Exec(`INSERT INTO staff_accounts (name, role, password_hash, must_change_password, created_at, updated_at)
			SELECT ?, ?, ?, ?, ?, ? WHERE NOT EXISTS (SELECT 1 FROM staff_accounts WHERE role = ? OR name = ?)`,
			a.Name, a.Role, a.PasswordHash, a.MustChangePassword, now, now, a.Role, a.Name)
		if res.Error != nil {
			return res.Error
		}
		if created = res.RowsAffected == 1; !created {
			return nil
		}
		return tx.Create(&AuditLog{Actor: "system", Action: "account.create", SubjectID: a.Name, Detail: "role=" + a.Role + " first start", At: now}).Error
	})
	if isDuplicate(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("storage: ensure admin: %w", err)
	}
	return created, nil
}

// StaffAccountByName returns an account; ErrNotFound when there is none.
func (db *DB) StaffAccountByName(ctx context.Context, name string) (*StaffAccount, error) {
	var a StaffAccount
	if err := db.gorm.WithContext(ctx).First(&a, "name = ?", name).Error; err != nil {
		if errors.Is(err, gorm.ErrRecordNotFound) {
			return nil, ErrNotFound
		}
		return nil, fmt.Errorf("storage: account: %w", err)
	}
	return &a, nil
}

// StaffAccounts lists every account by name.
func (db *DB) StaffAccounts(ctx context.Context) ([]StaffAccount, error) {
	var as []StaffAccount
	if err := db.gorm.WithContext(ctx).Order("name").Find(&as).Error; err != nil {
		return nil, fmt.Errorf("storage: accounts: %w", err)
	}
	return as, nil
}

// StaffAccountUpdate is a change to an account; nil fields stay.
type StaffAccountUpdate struct {
	PasswordHash       *string
	MustChangePassword *bool
	Role               *string
	Disabled           *bool
}

// UpdateStaffAccount applies upd to the named account and audits it as
// action. A new password, a new role or disabling signs the account out
// everywhere except the session keepSession (the digest of the session
// that made the change; "" for none).
func (db *DB) UpdateStaffAccount(ctx context.Context, name string, upd StaffAccountUpdate, actor, action, keepSession string) error {
	now := db.now()
	set := map[string]any{"updated_at": now}
	if upd.PasswordHash != nil {
		set["password_hash"] = *upd.PasswordHash
	}
	if upd.MustChangePassword != nil {
		set["must_change_password"] = *upd.MustChangePassword
	}
	detail := ""
	if upd.Role != nil {
		set["role"] = *upd.Role
		detail = "role=" + *upd.Role
	}
	if upd.Disabled != nil {
		if *upd.Disabled {
			set["disabled_at"] = now
		} else {
			set["disabled_at"] = nil
		}
	}
	err := db.gorm.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var a StaffAccount
		if err := tx.First(&a, "name = ?", name).Error; err != nil {
			if errors.Is(err, gorm.ErrRecordNotFound) {
				return ErrNotFound
			}
			return err
		}
		if err := tx.Model(&StaffAccount{}).Where("id = ?", a.ID).Updates(set).Error; err != nil {
			return err
		}
		if upd.PasswordHash != nil || upd.Role != nil || (upd.Disabled != nil && *upd.Disabled) {
			if err := tx.Where("account_id = ? AND id_hash <> ?", a.ID, keepSession).Delete(&StaffSession{}).Error; err != nil {
				return err
			}
		}
		return tx.Create(&AuditLog{Actor: actor, Action: action, SubjectID: name, Detail: detail, At: now}).Error
	})
	if err != nil && !errors.Is(err, ErrNotFound) {
		return fmt.Errorf("storage: update account: %w", err)
	}
	return err
}

// CreateStaffSession stores a new session and notes the sign-in time.
func (db *DB) CreateStaffSession(ctx context.Context, s *StaffSession) error {
	now := db.now()
	s.CreatedAt, s.LastSeenAt = now, now
	err := db.gorm.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Create(s).Error; err != nil {
			return err
		}
		return tx.Model(&StaffAccount{}).Where("id = ?", s.AccountID).Update("last_signin_at", now).Error
	})
	if err != nil {
		return fmt.Errorf("storage: create session: %w", err)
	}
	return nil
}

// StaffSession returns a session seen after idleSince, with its account;
// ErrNotFound when there is none (or it idled out).
func (db *DB) StaffSession(ctx context.Context, idHash string, idleSince time.Time) (*StaffSession, *StaffAccount, error) {
	var s StaffSession
	err := db.gorm.WithContext(ctx).First(&s, "id_hash = ? AND last_seen_at >= ?", idHash, idleSince.UTC()).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, nil, ErrNotFound
	}
	if err != nil {
		return nil, nil, fmt.Errorf("storage: session: %w", err)
	}
	var a StaffAccount
	if err := db.gorm.WithContext(ctx).First(&a, "id = ?", s.AccountID).Error; err != nil {
		if errors.Is(err, gorm.ErrRecordNotFound) {
			return nil, nil, ErrNotFound
		}
		return nil, nil, fmt.Errorf("storage: session account: %w", err)
	}
	return &s, &a, nil
}

// TouchStaffSession records activity on a session.
func (db *DB) TouchStaffSession(ctx context.Context, idHash string) error {
	err := db.gorm.WithContext(ctx).Model(&StaffSession{}).Where("id_hash = ?", idHash).Update("last_seen_at", db.now()).Error
	if err != nil {
		return fmt.Errorf("storage: touch session: %w", err)
	}
	return nil
}

// DeleteStaffSession signs one session out.
func (db *DB) DeleteStaffSession(ctx context.Context, idHash string) error {
	if err := db.gorm.WithContext(ctx).Delete(&StaffSession{}, "id_hash = ?", idHash).Error; err != nil {
		return fmt.Errorf("storage: delete session: %w", err)
	}
	return nil
}

// DeleteIdleStaffSessions removes sessions last seen before t.
func (db *DB) DeleteIdleStaffSessions(ctx context.Context, t time.Time) (int64, error) {
	res := db.gorm.WithContext(ctx).Delete(&StaffSession{}, "last_seen_at < ?", t.UTC())
	if res.Error != nil {
		return 0, fmt.Errorf("storage: delete idle sessions: %w", res.Error)
	}
	return res.RowsAffected, nil
}

// CreateAPIToken stores a token (its digest) and audits it; ErrExists when
// a token of that name is active.
func (db *DB) CreateAPIToken(ctx context.Context, t *APIToken) error {
	now := db.now()
	t.CreatedAt = now
	err := db.gorm.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Create(t).Error; err != nil {
			return err
		}
		return tx.Create(&AuditLog{Actor: t.CreatedBy, Action: "token.create", SubjectID: t.Name, Detail: "role=" + t.Role, At: now}).Error
	})
	if isDuplicate(err) {
		return ErrExists
	}
	if err != nil {
		return fmt.Errorf("storage: create token: %w", err)
	}
	return nil
}

// APITokenByHash returns the active token with that digest; ErrNotFound
// otherwise. It notes the use at most once a minute.
func (db *DB) APITokenByHash(ctx context.Context, hash string) (*APIToken, error) {
	var t APIToken
	err := db.gorm.WithContext(ctx).First(&t, "token_hash = ? AND revoked_at IS NULL", hash).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("storage: token: %w", err)
	}
	now := db.now()
	if t.LastUsedAt == nil || now.Sub(*t.LastUsedAt) > time.Minute {
		db.gorm.WithContext(ctx).Model(&APIToken{}).Where("id = ?", t.ID).Update("last_used_at", now)
	}
	return &t, nil
}

// APITokens lists the tokens, active first, then newest.
func (db *DB) APITokens(ctx context.Context) ([]APIToken, error) {
	var ts []APIToken
	if err := db.gorm.WithContext(ctx).Order("revoked_at IS NOT NULL, id DESC").Find(&ts).Error; err != nil {
		return nil, fmt.Errorf("storage: tokens: %w", err)
	}
	return ts, nil
}

// RevokeAPIToken revokes the active token of that name and audits it;
// ErrNotFound when there is none.
func (db *DB) RevokeAPIToken(ctx context.Context, name, actor string) error {
	now := db.now()
	err := db.gorm.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		res := tx.Model(&APIToken{}).Where("name = ? AND revoked_at IS NULL", name).Update("revoked_at", now)
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return ErrNotFound
		}
		return tx.Create(&AuditLog{Actor: actor, Action: "token.revoke", SubjectID: name, At: now}).Error
	})
	if err != nil && !errors.Is(err, ErrNotFound) {
		return fmt.Errorf("storage: revoke token: %w", err)
	}
	return err
}

// ThrottledUntil returns the latest lock on any of keys that lasts past
// now (zero when none does).
func (db *DB) ThrottledUntil(ctx context.Context, keys []string, now time.Time) (time.Time, error) {
	var until []time.Time
	err := db.gorm.WithContext(ctx).Table("signin_throttle").Where("key IN ? AND locked_until > ?", keys, now.UTC()).
		Pluck("locked_until", &until).Error
	if err != nil {
		return time.Time{}, fmt.Errorf("storage: throttle: %w", err)
	}
	var latest time.Time
	for _, u := range until {
		if u.After(latest) {
			latest = u
		}
	}
	return latest, nil
}

// ThrottleFailure counts a failed sign-in against key: failures within
// window of the first one add up, and the limit-th locks the key for lock.
func (db *DB) ThrottleFailure(ctx context.Context, key string, now time.Time, window time.Duration, limit int, lock time.Duration) error {
	now = now.UTC()
	err := db.gorm.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var row struct {
			Failures int
			FirstAt  time.Time
		}
		res := tx.Table("signin_throttle").Select("failures, first_at").Where("key = ?", key).Limit(1).Scan(&row)
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			if err := tx.Exec("INSERT INTO signin_throttle (key, failures, first_at) VALUES (?, 1, ?) ON CONFLICT (key) DO UPDATE SET failures = signin_throttle.failures + 1",
				key, now).Error; err != nil {
				return err
			}
			row.Failures, row.FirstAt = 1, now
		} else if now.Sub(row.FirstAt) > window {
			row.Failures, row.FirstAt = 1, now
			if err := tx.Exec("UPDATE signin_throttle SET failures = 1, first_at = ?, locked_until = NULL WHERE key = ?", now, key).Error; err != nil {
				return err
			}
		} else {
			row.Failures++
			if err := tx.Exec("UPDATE signin_throttle SET failures = failures + 1 WHERE key = ?", key).Error; err != nil {
				return err
			}
		}
		if row.Failures >= limit {
			return tx.Exec("UPDATE signin_throttle SET locked_until = ?, failures = 0, first_at = ? WHERE key = ?", now.Add(lock), now, key).Error
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("storage: throttle failure: %w", err)
	}
	return nil
}

// PruneThrottle forgets failures counted before t whose lock (if any) has
// ended by then, so that guessed names and passing addresses do not pile up.
func (db *DB) PruneThrottle(ctx context.Context, t time.Time) error {
	err := db.gorm.WithContext(ctx).Exec("DELETE FROM signin_throttle WHERE first_at < ? AND (locked_until IS NULL OR locked_until < ?)", t.UTC(), t.UTC()).Error
	if err != nil {
		return fmt.Errorf("storage: prune throttle: %w", err)
	}
	return nil
}

// ThrottleReset forgets the failures counted against key.
func (db *DB) ThrottleReset(ctx context.Context, key string) error {
	if err := db.gorm.WithContext(ctx).Exec("DELETE FROM signin_throttle WHERE key = ?", key).Error; err != nil {
		return fmt.Errorf("storage: throttle reset: %w", err)
	}
	return nil
}
