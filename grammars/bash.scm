; cseek chunk query for Bash.
;
; Captures follow the convention in the module docs of src/chunk/mod.rs.

(function_definition name: (word) @name) @definition.function
