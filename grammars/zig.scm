; cseek chunk query for Zig.
;
; Captures follow the convention in the module docs of src/chunk/mod.rs.
; Zig types are values: `const Name = struct { ... };` defines a container.

(function_declaration name: (identifier) @name) @definition.function
(variable_declaration (identifier) @name (struct_declaration)) @definition.struct
(variable_declaration (identifier) @name (union_declaration)) @definition.struct
(variable_declaration (identifier) @name (enum_declaration)) @definition.enum
(variable_declaration (identifier) @name (opaque_declaration)) @definition.type
(test_declaration [(string) (identifier)] @name) @definition.function
