// Package sqltext reads the SQL text of a mysqldump or mariadb-dump stream
// without a database: the Splitter cuts it into statements the way the
// mariadb client does, the Gate reads each the way the server will and lets
// through only what a dump of one database writes (classified for the
// loaders, with the dump's own database name and DEFINER clauses taken
// out), StripDefiner takes the DEFINER out of one CREATE statement, and
// Ident, Qualified and Literal quote names and values.
//
// Everything here reads untrusted input (a backup comes from a folder many
// people can write) and is fuzzed.
package sqltext
