(module
 (type $0 (func (param i32 i32 i32 i32 i32 i32 i32 i32 i32 i32 i32 i32 i32 i32 i32)))
 (type $1 (func (result i32)))
 (import "env" "memory" (memory $0 16 65536 shared))
 (export "sgemm" (func $wasm/assembly/gemm/sgemm))
 (export "gemmScratchBytes" (func $wasm/assembly/gemm/gemmScratchBytes))
 (export "memory" (memory $0))
 (func $wasm/assembly/gemm/gemmRange (param $0 i32) (param $1 i32) (param $2 i32) (param $3 i32) (param $4 i32) (param $5 i32) (param $6 i32) (param $7 i32) (param $8 i32) (param $9 i32) (param $10 i32) (param $11 i32) (param $12 i32) (param $13 i32) (param $14 i32)
  (local $15 i32)
  (local $16 i32)
  (local $17 v128)
  (local $18 i32)
  (local $19 i32)
  (local $20 v128)
  (local $21 i32)
  (local $22 i32)
  (local $23 i32)
  (local $24 i32)
  (local $25 i32)
  (local $26 i32)
  (local $27 i32)
  (local $28 i32)
  (local $29 f32)
  (local $30 v128)
  (local $31 i32)
  (local $32 v128)
  (local $33 v128)
  (local $34 v128)
  (local $35 v128)
  (local $36 v128)
  (local $37 v128)
  (local $38 v128)
  (local $39 v128)
  (local $40 i32)
  (local $41 i32)
  (local $42 i32)
  (local $43 i32)
  (local $44 i32)
  (local $45 i32)
  local.get $9
  i32.eqz
  if
   i32.const 0
   local.set $0
   loop $for-loop|0
    local.get $0
    local.get $7
    i32.lt_s
    if
     local.get $6
     local.get $0
     local.get $8
     i32.mul
     local.get $10
     i32.add
     i32.const 2
     i32.shl
     i32.add
     i32.const 0
     local.get $11
     local.get $10
     i32.sub
     i32.const 2
     i32.shl
     memory.fill
     local.get $0
     i32.const 1
     i32.add
     local.set $0
     br $for-loop|0
    end
   end
   return
  end
  loop $for-loop|1
   local.get $10
   local.get $11
   i32.lt_s
   if
    i32.const 1024
    local.get $11
    local.get $10
    i32.sub
    local.tee $15
    local.get $15
    i32.const 1024
    i32.gt_s
    select
    local.set $31
    i32.const 0
    local.set $40
    loop $for-loop|2
     local.get $9
     local.get $40
     i32.gt_s
     if
      i32.const 256
      local.get $9
      local.get $40
      i32.sub
      local.tee $15
      local.get $15
      i32.const 256
      i32.gt_s
      select
      local.set $41
      local.get $31
      i32.const 7
      i32.add
      i32.const 8
      i32.div_s
      local.set $21
      i32.const 0
      local.set $43
      loop $for-loop|00
       local.get $21
       local.get $43
       i32.gt_s
       if
        local.get $13
        local.get $41
        local.get $43
        i32.mul
        i32.const 5
        i32.shl
        i32.add
        local.set $45
        local.get $5
        i32.const 1
        i32.eq
        i32.const 8
        local.get $10
        local.get $31
        i32.add
        local.get $10
        local.get $43
        i32.const 3
        i32.shl
        i32.add
        local.tee $19
        i32.sub
        local.tee $15
        local.get $15
        i32.const 8
        i32.gt_s
        select
        local.tee $15
        i32.const 8
        i32.eq
        i32.and
        if
         local.get $3
         local.get $4
         local.get $40
         i32.mul
         local.get $19
         i32.add
         i32.const 2
         i32.shl
         i32.add
         local.set $16
         local.get $4
         i32.const 2
         i32.shl
         local.set $15
         i32.const 0
         local.set $26
         loop $for-loop|11
          local.get $26
          local.get $41
          i32.lt_s
          if
           local.get $45
           local.get $16
           v128.load
           v128.store
           local.get $45
           local.get $16
           v128.load offset=16
           v128.store offset=16
           local.get $15
           local.get $16
           i32.add
           local.set $16
           local.get $45
           i32.const 32
           i32.add
           local.set $45
           local.get $26
           i32.const 1
           i32.add
           local.set $26
           br $for-loop|11
          end
         end
        else
         i32.const 0
         local.set $44
         loop $for-loop|22
          local.get $41
          local.get $44
          i32.gt_s
          if
           local.get $3
           local.get $40
           local.get $44
           i32.add
           local.get $4
           i32.mul
           local.get $5
           local.get $19
           i32.mul
           i32.add
           i32.const 2
           i32.shl
           i32.add
           local.set $18
           i32.const 0
           local.set $16
           loop $for-loop|3
            local.get $15
            local.get $16
            i32.gt_s
            if
             local.get $45
             local.get $16
             i32.const 2
             i32.shl
             i32.add
             local.get $18
             local.get $5
             local.get $16
             i32.mul
             i32.const 2
             i32.shl
             i32.add
             f32.load
             f32.store
             local.get $16
             i32.const 1
             i32.add
             local.set $16
             br $for-loop|3
            end
           end
           local.get $15
           local.set $16
           loop $for-loop|4
            local.get $16
            i32.const 8
            i32.lt_s
            if
             local.get $45
             local.get $16
             i32.const 2
             i32.shl
             i32.add
             f32.const 0
             f32.store
             local.get $16
             i32.const 1
             i32.add
             local.set $16
             br $for-loop|4
            end
           end
           local.get $45
           i32.const 32
           i32.add
           local.set $45
           local.get $44
           i32.const 1
           i32.add
           local.set $44
           br $for-loop|22
          end
         end
        end
        local.get $43
        i32.const 1
        i32.add
        local.set $43
        br $for-loop|00
       end
      end
      i32.const 0
      local.set $16
      loop $for-loop|33
       local.get $7
       local.get $16
       i32.gt_s
       if
        i32.const 96
        local.get $7
        local.get $16
        i32.sub
        local.tee $15
        local.get $15
        i32.const 96
        i32.gt_s
        select
        local.tee $28
        i32.const 3
        i32.add
        i32.const 4
        i32.div_s
        local.set $22
        i32.const 0
        local.set $44
        loop $for-loop|04
         local.get $22
         local.get $44
         i32.gt_s
         if
          i32.const 4
          local.get $16
          local.get $28
          i32.add
          local.get $16
          local.get $44
          i32.const 2
          i32.shl
          i32.add
          local.tee $21
          i32.sub
          local.tee $15
          local.get $15
          i32.const 4
          i32.gt_s
          select
          local.set $19
          local.get $12
          local.get $41
          local.get $44
          i32.mul
          i32.const 4
          i32.shl
          i32.add
          local.set $18
          i32.const 0
          local.set $26
          loop $for-loop|15
           local.get $26
           i32.const 4
           i32.lt_s
           if
            local.get $18
            local.get $26
            i32.const 2
            i32.shl
            i32.add
            local.set $45
            local.get $19
            local.get $26
            i32.gt_s
            if
             local.get $0
             local.get $21
             local.get $26
             i32.add
             local.get $1
             i32.mul
             local.get $2
             local.get $40
             i32.mul
             i32.add
             i32.const 2
             i32.shl
             i32.add
             local.set $43
             local.get $2
             i32.const 2
             i32.shl
             local.set $15
             i32.const 0
             local.set $42
             loop $for-loop|26
              local.get $41
              local.get $42
              i32.gt_s
              if
               local.get $45
               local.get $43
               f32.load
               f32.store
               local.get $15
               local.get $43
               i32.add
               local.set $43
               local.get $45
               i32.const 16
               i32.add
               local.set $45
               local.get $42
               i32.const 1
               i32.add
               local.set $42
               br $for-loop|26
              end
             end
            else
             i32.const 0
             local.set $43
             loop $for-loop|37
              local.get $41
              local.get $43
              i32.gt_s
              if
               local.get $45
               f32.const 0
               f32.store
               local.get $45
               i32.const 16
               i32.add
               local.set $45
               local.get $43
               i32.const 1
               i32.add
               local.set $43
               br $for-loop|37
              end
             end
            end
            local.get $26
            i32.const 1
            i32.add
            local.set $26
            br $for-loop|15
           end
          end
          local.get $44
          i32.const 1
          i32.add
          local.set $44
          br $for-loop|04
         end
        end
        local.get $31
        i32.const 7
        i32.add
        i32.const 8
        i32.div_s
        local.set $25
        local.get $28
        i32.const 3
        i32.add
        i32.const 4
        i32.div_s
        local.set $24
        i32.const 0
        local.set $43
        loop $for-loop|48
         local.get $25
         local.get $43
         i32.gt_s
         if
          i32.const 8
          local.get $10
          local.get $31
          i32.add
          local.get $10
          local.get $43
          i32.const 3
          i32.shl
          i32.add
          local.tee $23
          i32.sub
          local.tee $15
          local.get $15
          i32.const 8
          i32.gt_s
          select
          local.set $22
          i32.const 0
          local.set $42
          loop $for-loop|5
           local.get $24
           local.get $42
           i32.gt_s
           if
            local.get $12
            local.get $41
            local.get $42
            i32.mul
            i32.const 4
            i32.shl
            i32.add
            local.set $44
            local.get $13
            local.get $41
            local.get $43
            i32.mul
            i32.const 5
            i32.shl
            i32.add
            local.set $45
            local.get $6
            local.get $16
            local.get $42
            i32.const 2
            i32.shl
            i32.add
            local.tee $15
            local.get $8
            i32.mul
            local.get $23
            i32.add
            i32.const 2
            i32.shl
            i32.add
            local.set $21
            i32.const 4
            local.get $16
            local.get $28
            i32.add
            local.get $15
            i32.sub
            local.tee $15
            local.get $15
            i32.const 4
            i32.gt_s
            select
            local.set $18
            local.get $40
            i32.const 0
            i32.gt_s
            local.set $27
            v128.const i32x4 0x00000000 0x00000000 0x00000000 0x00000000
            local.set $39
            v128.const i32x4 0x00000000 0x00000000 0x00000000 0x00000000
            local.set $38
            v128.const i32x4 0x00000000 0x00000000 0x00000000 0x00000000
            local.set $37
            v128.const i32x4 0x00000000 0x00000000 0x00000000 0x00000000
            local.set $36
            v128.const i32x4 0x00000000 0x00000000 0x00000000 0x00000000
            local.set $35
            v128.const i32x4 0x00000000 0x00000000 0x00000000 0x00000000
            local.set $34
            v128.const i32x4 0x00000000 0x00000000 0x00000000 0x00000000
            local.set $33
            v128.const i32x4 0x00000000 0x00000000 0x00000000 0x00000000
            local.set $32
            i32.const 0
            local.set $26
            loop $for-loop|6
             local.get $26
             local.get $41
             i32.lt_s
             if
              local.get $39
              local.get $44
              v128.load32_splat
              local.tee $17
              local.get $45
              v128.load
              local.tee $30
              f32x4.mul
              f32x4.add
              local.set $39
              local.get $38
              local.get $17
              local.get $45
              v128.load offset=16
              local.tee $20
              f32x4.mul
              f32x4.add
              local.set $38
              local.get $37
              local.get $44
              v128.load32_splat offset=4
              local.tee $17
              local.get $30
              f32x4.mul
              f32x4.add
              local.set $37
              local.get $36
              local.get $17
              local.get $20
              f32x4.mul
              f32x4.add
              local.set $36
              local.get $35
              local.get $44
              v128.load32_splat offset=8
              local.tee $17
              local.get $30
              f32x4.mul
              f32x4.add
              local.set $35
              local.get $34
              local.get $17
              local.get $20
              f32x4.mul
              f32x4.add
              local.set $34
              local.get $33
              local.get $44
              v128.load32_splat offset=12
              local.tee $17
              local.get $30
              f32x4.mul
              f32x4.add
              local.set $33
              local.get $32
              local.get $17
              local.get $20
              f32x4.mul
              f32x4.add
              local.set $32
              local.get $44
              i32.const 16
              i32.add
              local.set $44
              local.get $45
              i32.const 32
              i32.add
              local.set $45
              local.get $26
              i32.const 1
              i32.add
              local.set $26
              br $for-loop|6
             end
            end
            local.get $8
            i32.const 2
            i32.shl
            local.set $26
            block $wasm/assembly/gemm/micro|inlined.0
             local.get $22
             i32.const 8
             i32.eq
             local.get $18
             i32.const 4
             i32.eq
             i32.and
             if
              local.get $21
              local.get $26
              i32.add
              local.set $19
              local.get $21
              local.get $26
              i32.const 1
              i32.shl
              i32.add
              local.set $18
              local.get $21
              local.get $26
              i32.const 3
              i32.mul
              i32.add
              local.set $15
              local.get $21
              local.get $27
              if (result v128)
               local.get $38
               local.get $21
               v128.load offset=16
               f32x4.add
               local.set $38
               local.get $37
               local.get $19
               v128.load
               f32x4.add
               local.set $37
               local.get $36
               local.get $19
               v128.load offset=16
               f32x4.add
               local.set $36
               local.get $35
               local.get $18
               v128.load
               f32x4.add
               local.set $35
               local.get $34
               local.get $18
               v128.load offset=16
               f32x4.add
               local.set $34
               local.get $33
               local.get $15
               v128.load
               f32x4.add
               local.set $33
               local.get $32
               local.get $15
               v128.load offset=16
               f32x4.add
               local.set $32
               local.get $39
               local.get $21
               v128.load
               f32x4.add
              else
               local.get $39
              end
              v128.store
              local.get $21
              local.get $38
              v128.store offset=16
              local.get $19
              local.get $37
              v128.store
              local.get $19
              local.get $36
              v128.store offset=16
              local.get $18
              local.get $35
              v128.store
              local.get $18
              local.get $34
              v128.store offset=16
              local.get $15
              local.get $33
              v128.store
              local.get $15
              local.get $32
              v128.store offset=16
              br $wasm/assembly/gemm/micro|inlined.0
             end
             local.get $14
             local.get $39
             v128.store
             local.get $14
             local.get $38
             v128.store offset=16
             local.get $14
             local.get $37
             v128.store offset=32
             local.get $14
             local.get $36
             v128.store offset=48
             local.get $14
             local.get $35
             v128.store offset=64
             local.get $14
             local.get $34
             v128.store offset=80
             local.get $14
             local.get $33
             v128.store offset=96
             local.get $14
             local.get $32
             v128.store offset=112
             i32.const 0
             local.set $44
             loop $for-loop|7
              local.get $18
              local.get $44
              i32.gt_s
              if
               i32.const 0
               local.set $45
               loop $for-loop|8
                local.get $22
                local.get $45
                i32.gt_s
                if
                 local.get $14
                 local.get $44
                 i32.const 3
                 i32.shl
                 local.get $45
                 i32.add
                 i32.const 2
                 i32.shl
                 i32.add
                 f32.load
                 local.set $29
                 local.get $21
                 local.get $26
                 local.get $44
                 i32.mul
                 i32.add
                 local.get $45
                 i32.const 2
                 i32.shl
                 i32.add
                 local.tee $15
                 local.get $27
                 if (result f32)
                  local.get $15
                  f32.load
                  local.get $29
                  f32.add
                 else
                  local.get $29
                 end
                 f32.store
                 local.get $45
                 i32.const 1
                 i32.add
                 local.set $45
                 br $for-loop|8
                end
               end
               local.get $44
               i32.const 1
               i32.add
               local.set $44
               br $for-loop|7
              end
             end
            end
            local.get $42
            i32.const 1
            i32.add
            local.set $42
            br $for-loop|5
           end
          end
          local.get $43
          i32.const 1
          i32.add
          local.set $43
          br $for-loop|48
         end
        end
        local.get $16
        i32.const 96
        i32.add
        local.set $16
        br $for-loop|33
       end
      end
      local.get $40
      i32.const 256
      i32.add
      local.set $40
      br $for-loop|2
     end
    end
    local.get $10
    i32.const 1024
    i32.add
    local.set $10
    br $for-loop|1
   end
  end
 )
 (func $wasm/assembly/gemm/sgemm (param $0 i32) (param $1 i32) (param $2 i32) (param $3 i32) (param $4 i32) (param $5 i32) (param $6 i32) (param $7 i32) (param $8 i32) (param $9 i32) (param $10 i32) (param $11 i32) (param $12 i32) (param $13 i32) (param $14 i32)
  (local $15 i32)
  (local $16 i32)
  (local $17 i32)
  (local $18 i32)
  local.get $12
  i32.const 102400
  i32.add
  local.tee $15
  i32.const 1056768
  i32.add
  local.set $16
  local.get $6
  i32.const 8
  i32.le_s
  local.get $4
  local.get $14
  i32.ge_s
  i32.or
  if
   loop $for-loop|0
    local.get $4
    local.get $13
    i32.gt_s
    if
     local.get $0
     local.get $3
     local.get $13
     i32.const 12
     i32.mul
     i32.add
     local.tee $17
     i32.load
     i32.const 2
     i32.shl
     i32.add
     local.get $8
     local.get $9
     local.get $1
     local.get $17
     i32.load offset=4
     i32.const 2
     i32.shl
     i32.add
     local.get $10
     local.get $11
     local.get $2
     local.get $17
     i32.load offset=8
     i32.const 2
     i32.shl
     i32.add
     local.get $5
     local.get $6
     local.get $7
     i32.const 0
     local.get $6
     local.get $12
     local.get $15
     local.get $16
     call $wasm/assembly/gemm/gemmRange
     local.get $13
     local.get $14
     i32.add
     local.set $13
     br $for-loop|0
    end
   end
   return
  end
  local.get $6
  local.get $6
  i32.const 7
  i32.add
  i32.const 8
  i32.div_s
  local.get $14
  i32.add
  i32.const 1
  i32.sub
  local.get $14
  i32.div_s
  local.tee $14
  local.get $13
  i32.mul
  i32.const 3
  i32.shl
  local.tee $17
  local.get $6
  local.get $17
  i32.lt_s
  select
  local.tee $17
  local.get $6
  local.get $13
  i32.const 1
  i32.add
  local.get $14
  i32.mul
  i32.const 3
  i32.shl
  local.tee $13
  local.get $6
  local.get $13
  i32.lt_s
  select
  local.tee $18
  i32.ge_s
  if
   return
  end
  i32.const 0
  local.set $13
  loop $for-loop|1
   local.get $4
   local.get $13
   i32.gt_s
   if
    local.get $0
    local.get $3
    local.get $13
    i32.const 12
    i32.mul
    i32.add
    local.tee $14
    i32.load
    i32.const 2
    i32.shl
    i32.add
    local.get $8
    local.get $9
    local.get $1
    local.get $14
    i32.load offset=4
    i32.const 2
    i32.shl
    i32.add
    local.get $10
    local.get $11
    local.get $2
    local.get $14
    i32.load offset=8
    i32.const 2
    i32.shl
    i32.add
    local.get $5
    local.get $6
    local.get $7
    local.get $17
    local.get $18
    local.get $12
    local.get $15
    local.get $16
    call $wasm/assembly/gemm/gemmRange
    local.get $13
    i32.const 1
    i32.add
    local.set $13
    br $for-loop|1
   end
  end
 )
 (func $wasm/assembly/gemm/gemmScratchBytes (result i32)
  i32.const 1159680
 )
)
