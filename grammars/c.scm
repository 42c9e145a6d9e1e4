; cseek chunk query for C.
;
; Captures follow the convention in the module docs of src/chunk/mod.rs.

(function_definition
  declarator: (function_declarator declarator: (identifier) @name)) @definition.function
; Functions returning pointers: `char *name(void)`, `char **name(void)`.
(function_definition
  declarator: (pointer_declarator
    declarator: (function_declarator declarator: (identifier) @name))) @definition.function
(function_definition
  declarator: (pointer_declarator
    declarator: (pointer_declarator
      declarator: (function_declarator declarator: (identifier) @name)))) @definition.function

(struct_specifier name: (type_identifier) @name body: (field_declaration_list)) @definition.struct
(union_specifier name: (type_identifier) @name body: (field_declaration_list)) @definition.struct
(enum_specifier name: (type_identifier) @name body: (enumerator_list)) @definition.enum
(type_definition declarator: (type_identifier) @name) @definition.type
(preproc_function_def name: (identifier) @name) @definition.macro

; The patterns C and C++ share are in cfamily.scm, appended to this file.
