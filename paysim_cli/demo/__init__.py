"""`paysim demo`: the whole local pipeline, driven, drained, reconciled and summarised in one command."""
