; cseek chunk query for Julia.
;
; Captures follow the convention in the module docs of src/chunk/mod.rs.
; A docstring directly above a definition is added by the chunker like a comment.

(function_definition (signature (call_expression . (identifier) @name))) @definition.function
(function_definition
  (signature (call_expression . (field_expression (identifier) @name .)))) @definition.function
(function_definition (signature (where_expression (call_expression . (identifier) @name)))) @definition.function
(function_definition (signature (typed_expression (call_expression . (identifier) @name)))) @definition.function
; Short form `f(x) = ...`.
(assignment . (call_expression . (identifier) @name)) @definition.function
(assignment . (where_expression . (call_expression . (identifier) @name))) @definition.function
(macro_definition (signature (call_expression . (identifier) @name))) @definition.macro
(struct_definition (type_head [(identifier) @name (parametrized_type_expression . (identifier) @name) (binary_expression . (identifier) @name) (binary_expression . (parametrized_type_expression . (identifier) @name))])) @definition.struct
(abstract_definition (type_head [(identifier) @name (binary_expression . (identifier) @name)])) @definition.type
(module_definition name: (identifier) @name) @definition.module
