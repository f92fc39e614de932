-- A maintainer's confirmation holds for the candidate and the links it confirmed: both are
-- kept beside it (the links as a hash) so that a change to either is seen and asks again.
ALTER TABLE submissions ADD COLUMN confirmed_candidate TEXT;
ALTER TABLE submissions ADD COLUMN confirmed_links TEXT;
