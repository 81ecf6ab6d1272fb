-- A constant default is stored in the catalog (PostgreSQL 11+): no table rewrite.
ALTER TABLE orders ADD COLUMN status text NOT NULL DEFAULT 'placed';
