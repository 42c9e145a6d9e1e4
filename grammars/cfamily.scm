; cseek chunk patterns shared by C and C++, whose grammars name these nodes alike;
; appended to c.scm and cpp.scm (see their headers for the capture convention).

; A variable whose initializer spans lines (`static const uv__fs_t table[] = { … };`,
; `const std::map<…> kNames = { … };` in a namespace) is a variable; one inside a
; function stays part of it, and the chunker keeps one-line declarations with the code
; around them.
(declaration
  declarator: (init_declarator
    declarator: [
      (identifier) @name
      (array_declarator declarator: (identifier) @name)
      (pointer_declarator declarator: (identifier) @name)
      (pointer_declarator declarator: (array_declarator declarator: (identifier) @name))
    ])) @definition.variable
