DROP TABLE user_ssn;
