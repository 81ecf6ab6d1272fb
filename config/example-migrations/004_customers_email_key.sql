-- drawbridge:no-transaction
-- Built without blocking writes; a failed build leaves an INVALID index, which
-- Drawbridge reports and drops before trying again.
CREATE UNIQUE INDEX CONCURRENTLY customers_email_key ON customers (lower(email));
