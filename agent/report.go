package agent

// VerifyReport is what a check of a ledger found: whether its hash chain
// and structure are intact, and where not, the first broken movement and
// every structural problem.
type VerifyReport struct {
	Store     string `json:"store,omitempty"`
	Gateway   string `json:"gateway"`
	Intact    bool   `json:"intact"`
	Movements uint64 `json:"movements"`
	LastSeq   uint64 `json:"last_seq"`
	LastHash  string `json:"last_hash,omitempty"`
	Genesis   string `json:"genesis,omitempty"`
	// Broken is the first movement at which the hash chain breaks.
	Broken *BrokenMovement `json:"broken,omitempty"`
	// Problems are what the structural checks found besides: damaged
	// batches, index runs, master data, a lost transaction.
	Problems []string `json:"problems,omitempty"`
	// Warnings are what was found that loses nothing (a damaged meta page
	// bbolt does not use, a missing tip file, a check left out while the
	// agent runs).
	Warnings []string `json:"warnings,omitempty"`
}

// BrokenMovement is where a hash chain breaks: movement Seq was Kind
// ("changed", "removed", "inserted", "reordered", …), and why.
type BrokenMovement struct {
	Seq    uint64 `json:"seq"`
	Kind   string `json:"kind"`
	Reason string `json:"reason"`
}

// LedgerHealth is what a running ledger knows of its own state.
type LedgerHealth struct {
	// IndexDamaged: the item index was found damaged; movements are still
	// recorded, traces over the damage fail, reindex repairs it.
	IndexDamaged bool `json:"index_damaged,omitempty"`
	// Failed says why the ledger no longer records anything (its file
	// was deleted or replaced, …); every scan is answered failed.
	Failed string `json:"failed,omitempty"`
	// Lost names movements the ledger once held and no longer does (a
	// dropped last transaction), as found when it was opened.
	Lost string `json:"lost,omitempty"`
	// FirstSeq is the first movement the ledger holds in sequence, above
	// 1 once retention took older ones away (the centre holds them);
	// RetainedAt is when it last did.
	FirstSeq   uint64 `json:"first_seq,omitempty"`
	RetainedAt string `json:"retained_at,omitempty"`
	// Bytes is the file's size, MaxBytes its disk budget (0: none);
	// NearBudget says it is past the budget's warning share, OverBudget
	// at or past the budget.
	Bytes      int64 `json:"bytes,omitempty"`
	MaxBytes   int64 `json:"max_bytes,omitempty"`
	NearBudget bool  `json:"near_budget,omitempty"`
	OverBudget bool  `json:"over_budget,omitempty"`
}
