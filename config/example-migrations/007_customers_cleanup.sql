-- drawbridge:maintenance
-- Old code still reads customers.note, and SET NOT NULL scans the table under
-- an ACCESS EXCLUSIVE lock: this one runs inside a maintenance window.
UPDATE customers SET name = split_part(email, '@', 1) WHERE name IS NULL;
ALTER TABLE customers ALTER COLUMN name SET NOT NULL;
ALTER TABLE customers DROP COLUMN note;
