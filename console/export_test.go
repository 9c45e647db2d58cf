package console

// Tests hash with the cheapest argon2id parameters: the hashing itself is
// argon2's, and sign-ins are many.
func init() { argonTime, argonMemory = 1, 64 }
