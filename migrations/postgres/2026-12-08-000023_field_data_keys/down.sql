DROP TABLE field_data_keys;
