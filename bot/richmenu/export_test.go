package richmenu

// Split is split, for tests.
var Split = split
