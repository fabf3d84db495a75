package binlog

// Tracker follows transaction boundaries in a stream of events, for the
// writer of segments: a segment should end between transactions.
type Tracker struct {
	in       bool
	explicit bool
	txn      Txn
}

// InTxn reports whether the last event observed left a transaction open.
func (t *Tracker) InTxn() bool { return t.in }

// Txn is the transaction being read, or the last one when none is open.
func (t *Tracker) Txn() Txn { return t.txn }

// Observe takes the next event (checked against f already) and reports
// whether it started a transaction.
func (t *Tracker) Observe(e Event, f *Format) (started bool, err error) {
	switch {
	case isTxnStart(e.Type):
		txn, err := f.decodeTxn(e)
		if err != nil {
			return false, err
		}
		t.in, t.txn = true, txn
		t.explicit = e.Type == typeMariaGTID && !txn.Standalone
		return true, nil
	case !t.in:
		return false, nil
	case e.Type == typeXID:
		t.in = false
	case e.Type == typeQuery:
		q, err := f.decodeQuery(e)
		if err != nil {
			return false, err
		}
		toks, ok := lex(q.Text, q.SQLMode)
		if !ok {
			// A statement not read here is not BEGIN or COMMIT.
			if !t.explicit {
				t.in = false
			}
			return false, nil
		}
		j, ctl := control(toks)
		switch {
		case ctl && j.act == begin:
			t.explicit = true
		case ctl && (j.act == commit || j.act == rollback):
			t.in = false
		case !t.explicit:
			// A statement that commits itself (DDL).
			t.in = false
		}
	}
	return false, nil
}
