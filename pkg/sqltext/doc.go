// Package sqltext reads the SQL text of a mysqldump or mariadb-dump stream
// without a database: the Splitter cuts it into statements the way the
// mariadb client does, Classify says what each statement is for, the
// streaming filters rewrite DEFINER clauses and refuse dumps of several
// databases, and Ident, Qualified and Literal quote names and values.
//
// Everything here reads untrusted input (a backup comes from a folder many
// people can write) and is fuzzed.
package sqltext
