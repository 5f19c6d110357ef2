-- s2s: foreign keys between the target tables of a run ($1 = their oids):
-- the referencing table must wait for the referenced one.
SELECT conrelid::oid, confrelid::oid
FROM pg_constraint
WHERE contype = 'f'
  AND conrelid = ANY ($1::oid[])
  AND confrelid = ANY ($1::oid[])
  AND conrelid <> confrelid
