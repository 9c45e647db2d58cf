package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/todoku/todoku/console"
	"github.com/todoku/todoku/storage"
)

// The console's account and token commands:
//
//	todoku admin create-user NAME --role ROLE   (password from stdin, or generated and printed once)
//	todoku admin set-password NAME              (the same)
//	todoku admin disable NAME / enable NAME
//	todoku admin token create --role ROLE --name NAME   (prints only the token)
//	todoku admin token revoke NAME

func staffUsage(w io.Writer) {
	fmt.Fprint(w, `  todoku admin create-user NAME --role staff|operator|admin
      add a console account; the password is read from standard input (one
      line), or, when none is given, generated, printed once and to be
      changed at the first sign-in
  todoku admin set-password NAME
      set an account's password the same way (signs it out everywhere)
  todoku admin disable NAME, todoku admin enable NAME
  todoku admin token create --role ROLE --name NAME
      make a JSON API token; prints only the token (it is stored hashed)
  todoku admin token revoke NAME
`)
}

// runStaffCommand runs one of the account commands; ok is false when name
// is not one of them.
func runStaffCommand(ctx context.Context, name string, args []string, stdin io.Reader, stdout, stderr io.Writer) (code int, ok bool) {
	switch name {
	case "create-user", "set-password", "disable", "enable":
		return runAccountCommand(ctx, name, args, stdin, stdout, stderr), true
	case "token":
		return runToken(ctx, args, stdout, stderr), true
	}
	return 0, false
}

func runAccountCommand(ctx context.Context, name string, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	f := newAdminFlags(name, stderr)
	role := f.fs.String("role", "", "staff, operator or admin (create-user)")
	pos, err := parseInterleaved(f.fs, args)
	if err != nil {
		return flagExit(err)
	}
	if len(pos) != 1 {
		fmt.Fprintf(stderr, "todoku admin %s: want exactly one account name\n", name)
		return exitUsage
	}
	if name == "create-user" && !console.ValidRole(*role) {
		fmt.Fprintf(stderr, "todoku admin create-user: --role must be staff, operator or admin\n")
		return exitUsage
	}
	var password string
	if name == "create-user" || name == "set-password" {
		if password, err = readPassword(stdin); err != nil {
			fmt.Fprintf(stderr, "todoku admin %s: %v\n", name, err)
			return exitUsage
		}
	}
	db, _, code, ok := f.openDB(ctx, stderr)
	if !ok {
		return code
	}
	defer db.Close()
	acc := console.Accounts{DB: db}
	var gen string
	switch name {
	case "create-user":
		gen, err = acc.Create(ctx, pos[0], *role, password, *f.actor)
	case "set-password":
		gen, err = acc.SetPassword(ctx, pos[0], password, *f.actor, "")
	case "disable", "enable":
		err = acc.SetDisabled(ctx, pos[0], name == "disable", *f.actor)
	}
	switch {
	case errors.Is(err, storage.ErrExists):
		fmt.Fprintf(stderr, "todoku admin %s: an account named %q exists\n", name, pos[0])
		return exitError
	case errors.Is(err, storage.ErrNotFound):
		fmt.Fprintf(stderr, "todoku admin %s: no account named %q\n", name, pos[0])
		return exitNotFound
	case err != nil:
		fmt.Fprintf(stderr, "todoku admin %s: %v\n", name, err)
		return exitError
	}
	if gen != "" {
		fmt.Fprintf(stderr, "one-time password for %s (shown once; it must be changed at the first sign-in):\n", pos[0])
		fmt.Fprintln(stdout, gen)
	} else {
		fmt.Fprintf(stderr, "%s: done\n", pos[0])
	}
	return exitOK
}

// readPassword reads one line from stdin when it is not a terminal; "" means
// generate one. A password typed at a terminal would echo, so a terminal
// gets a generated one.
func readPassword(stdin io.Reader) (string, error) {
	if f, ok := stdin.(*os.File); ok {
		if fi, err := f.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
			return "", nil
		}
	}
	line, err := bufio.NewReader(stdin).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", err
	}
	pw := strings.TrimRight(line, "\r\n")
	if pw == "" {
		return "", nil
	}
	if err := console.CheckNewPassword(pw); err != nil {
		return "", fmt.Errorf("password: at least %d characters", console.MinPasswordLength)
	}
	return pw, nil
}

func runToken(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || (args[0] != "create" && args[0] != "revoke") {
		fmt.Fprintln(stderr, "usage: todoku admin token create --role ROLE --name NAME | todoku admin token revoke NAME")
		return exitUsage
	}
	verb := args[0]
	f := newAdminFlags("token "+verb, stderr)
	role := f.fs.String("role", "", "staff, operator or admin")
	name := f.fs.String("name", "", "the token's name (for the audit log and revoking)")
	pos, err := parseInterleaved(f.fs, args[1:])
	if err != nil {
		return flagExit(err)
	}
	if verb == "revoke" && *name == "" && len(pos) == 1 {
		*name, pos = pos[0], nil
	}
	if *name == "" || len(pos) > 0 {
		fmt.Fprintf(stderr, "todoku admin token %s: want the token's name\n", verb)
		return exitUsage
	}
	if verb == "create" && !console.ValidRole(*role) {
		fmt.Fprintln(stderr, "todoku admin token create: --role must be staff, operator or admin")
		return exitUsage
	}
	db, _, code, ok := f.openDB(ctx, stderr)
	if !ok {
		return code
	}
	defer db.Close()
	acc := console.Accounts{DB: db}
	if verb == "revoke" {
		err := acc.RevokeToken(ctx, *name, *f.actor)
		if errors.Is(err, storage.ErrNotFound) {
			fmt.Fprintf(stderr, "todoku admin token revoke: no active token named %q\n", *name)
			return exitNotFound
		}
		if err != nil {
			fmt.Fprintln(stderr, "todoku admin token revoke:", err)
			return exitError
		}
		fmt.Fprintf(stderr, "token %s revoked\n", *name)
		return exitOK
	}
	tok, err := acc.CreateToken(ctx, *name, *role, *f.actor)
	if errors.Is(err, storage.ErrExists) {
		fmt.Fprintf(stderr, "todoku admin token create: an active token named %q exists (revoke it first)\n", *name)
		return exitError
	}
	if err != nil {
		fmt.Fprintln(stderr, "todoku admin token create:", err)
		return exitError
	}
	fmt.Fprintln(stdout, tok)
	return exitOK
}
