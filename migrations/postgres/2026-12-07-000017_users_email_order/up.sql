-- Many accounts may claim one e-mail address (000016), so the admin
-- search by address pages by (email, id): the id breaks ties, and this
-- index yields the rows in that order.
DROP INDEX users_email;
CREATE INDEX users_email ON users (email, id);
