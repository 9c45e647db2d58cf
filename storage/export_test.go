package storage

// MigrateTo applies the migrations up to version n (tests of migrations
// start from an older schema).
var MigrateTo = (*DB).migrateTo
