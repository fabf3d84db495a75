package restore

// viewsInTheWay returns the old views whose names the new snapshot gives
// to tables: the RENAME cannot bring a table in over a view, so they go
// just before it.
//
// The other old views of the target stay in place through the swap's
// RENAME TABLE. A view names its tables, so once the new tables are in,
// the old view reads them, until complete replaces it with the new
// definition in one statement (CREATE OR REPLACE). The app's reads of a
// view therefore never find it missing while a refresh swaps, nor after a
// swap a crash interrupted. What remains: between the RENAME and the
// replacement (the time it takes to create the new objects), the old
// definition reads the new tables, so a view whose old definition no
// longer fits them (a column it reads was dropped or renamed) answers
// with an error for that time; and a view whose name the new snapshot
// gives to a table is missing from just before the RENAME.
func viewsInTheWay(prev, next schema) []object {
	tables := map[string]bool{}
	for _, t := range next.tables {
		tables[t] = true
	}
	var out []object
	for _, v := range prev.views {
		if tables[v.name] {
			out = append(out, v)
		}
	}
	return out
}

// viewsGone returns the old views that the new snapshot has neither as a
// view nor as a table: they go once the new objects exist.
func viewsGone(prev, next schema) []object {
	names := map[string]bool{}
	for _, t := range next.tables {
		names[t] = true
	}
	for _, v := range next.views {
		names[v.name] = true
	}
	var out []object
	for _, v := range prev.views {
		if !names[v.name] {
			out = append(out, v)
		}
	}
	return out
}
