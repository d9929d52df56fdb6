-- At most one admin (default) account: nodes that start at once each try to create it,
-- and the index lets exactly one insert win (the others read the winner's).
CREATE UNIQUE INDEX accounts_one_admin ON accounts(is_admin) WHERE is_admin = 1;
